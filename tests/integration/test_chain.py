"""The hash chain on a real PostgreSQL: tamper with the stored log in every way, and `verify`
names the exact first bad position; the trigger refuses changes; the grants allow only appends."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from psycopg import sql
from psycopg.rows import dict_row

from api.core.database import grant_statements
from api.core.runtime import Runtime, open_runtime
from api.core.settings import Settings
from api.queries.verification import verify
from projections.chain import ChainView, chain_hashes
from projections.hashing import Signer, link_hash
from projections.rebuild import rebuild
from tests.support.districts import units_with_systems

PARK = (106.57, 29.53)  # where the systems these tests file stand
CHECKPOINT_EVERY = 4
SEQUENCE = "ledger_events_notification_id_seq"


@pytest.fixture
def runtime(settings: Settings, tmp_path: Path) -> Iterator[Runtime]:
    configured = settings.model_copy(
        update={"data_dir": tmp_path, "checkpoint_every": CHECKPOINT_EVERY}
    )
    rt = open_runtime(configured, projections=True)
    try:
        yield rt
    finally:
        rt.close()


def _link(rt: Runtime) -> int:
    runner = rt.runner("chain")
    assert runner is not None
    return runner.catch_up()


def _positions(url: str, where: str = "true") -> list[int]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            f"SELECT notification_id FROM ledger_events WHERE {where} ORDER BY 1"
        ).fetchall()
    return [row[0] for row in rows]


def _as_superuser(url: str, statement: str, params: tuple[Any, ...] = ()) -> None:
    """What someone with the database's superuser can do: switch the triggers off, write."""
    with psycopg.connect(url) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute(statement, params)


@pytest.fixture
def linked(runtime: Runtime, database_url: str) -> list[int]:
    """A log of a few dozen events, all linked; returns their positions."""
    units_with_systems(runtime, units=3, per_unit=2, at=PARK)
    _link(runtime)
    positions = _positions(database_url)
    assert len(positions) > 3 * CHECKPOINT_EVERY
    return positions


def test_an_untouched_log_verifies_with_every_checkpoint(
    runtime: Runtime, linked: list[int]
) -> None:
    result = verify(runtime)
    assert result.verified, result
    assert result.events == len(linked)
    assert result.position == linked[-1]
    assert result.first_bad_position is None and result.unlinked == 0
    assert result.checkpoints.count == result.checkpoints.verified >= len(linked) // 4
    with runtime.reads.transaction() as curs:
        curs.execute("SELECT hash FROM chain_links ORDER BY position DESC LIMIT 1")
        row = curs.fetchone()
    assert row is not None and result.head_hash == row["hash"]


def test_small_batches_and_a_rebuild_link_every_event_the_same(
    runtime: Runtime, database_url: str
) -> None:
    units_with_systems(runtime, units=3, per_unit=2, at=PARK)
    runner = runtime.runner("chain")
    assert runner is not None
    runner.page_size = 3
    runner.catch_up()
    with runtime.reads.transaction() as curs:
        curs.execute("SELECT position, hash, prev_hash FROM chain_links ORDER BY position")
        small = curs.fetchall()
        curs.execute("SELECT position, signature FROM chain_checkpoints ORDER BY position")
        signed = {row["position"]: row["signature"] for row in curs.fetchall()}
    report = rebuild(
        app=runtime.ledger,
        registry=runtime.registry,
        kind=ChainView,
        open_view=runtime.open_view,
        rules_toml=None,
    )
    assert report.generation == 2
    with runtime.reads.transaction() as curs:
        curs.execute("SELECT position, hash, prev_hash FROM chain_links ORDER BY position")
        rebuilt = curs.fetchall()
        curs.execute("SELECT position, signature FROM chain_checkpoints ORDER BY position")
        resigned = {row["position"]: row["signature"] for row in curs.fetchall()}
    assert small == rebuilt and len(small) == len(_positions(database_url))
    # Boundary checkpoints are the same bytes signed by the same key: the same signature.
    for position in resigned.keys() & signed.keys():
        assert resigned[position] == signed[position]
    assert verify(runtime).verified


def test_a_changed_field_is_named_at_its_position(
    runtime: Runtime, linked: list[int], database_url: str
) -> None:
    filings = _positions(database_url, "topic LIKE '%%VideoSystem.Filed'")
    target = filings[len(filings) // 2]
    _as_superuser(
        database_url,
        "UPDATE ledger_events SET state = convert_to(replace(convert_from(state, 'UTF8'),"
        " '\"storage_days\":30', '\"storage_days\": 30'), 'UTF8') WHERE notification_id = %s",
        (target,),
    )
    assert verify(runtime).verified  # only a space was added: the content is the same
    _as_superuser(
        database_url,
        "UPDATE ledger_events SET state = convert_to(replace(convert_from(state, 'UTF8'),"
        " '\"storage_days\": 30', '\"storage_days\":7'), 'UTF8') WHERE notification_id = %s",
        (target,),
    )
    result = verify(runtime)
    assert not result.verified
    assert (result.first_bad_position, result.problem) == (target, "changed")
    assert result.events == linked.index(target)  # every event before it holds


def test_a_changed_topic_is_named_at_its_position(
    runtime: Runtime, linked: list[int], database_url: str
) -> None:
    target = linked[3]
    _as_superuser(
        database_url,
        "UPDATE ledger_events SET topic = 'ledger.units:Unit.Deregistered'"
        " WHERE notification_id = %s",
        (target,),
    )
    result = verify(runtime)
    assert (result.verified, result.first_bad_position, result.problem) == (
        False,
        target,
        "changed",
    )


def test_a_deleted_event_is_named_at_its_position(
    runtime: Runtime, linked: list[int], database_url: str
) -> None:
    target = linked[-5]
    _as_superuser(database_url, "DELETE FROM ledger_events WHERE notification_id = %s", (target,))
    result = verify(runtime)
    assert (result.verified, result.first_bad_position, result.problem) == (
        False,
        target,
        "missing",
    )


def test_a_forged_event_in_a_gap_is_named_at_its_position(
    runtime: Runtime, database_url: str
) -> None:
    units_with_systems(runtime, units=1, per_unit=2, at=PARK)
    with psycopg.connect(database_url) as conn:  # a failed insert leaves such a gap
        gap = conn.execute("SELECT nextval(%s)", (SEQUENCE,)).fetchone()[0]  # type: ignore[index]
    units_with_systems(runtime, units=1, per_unit=2, first=1, at=PARK)
    _link(runtime)
    assert gap not in _positions(database_url)
    assert verify(runtime).verified  # a gap is never tampering
    _as_superuser(
        database_url,
        "INSERT INTO ledger_events (originator_id, originator_version, topic, state,"
        " notification_id) SELECT %s, 1, topic, state, %s FROM ledger_events"
        " ORDER BY notification_id LIMIT 1",
        (uuid.uuid4(), gap),
    )
    result = verify(runtime)
    assert (result.verified, result.first_bad_position, result.problem) == (
        False,
        gap,
        "inserted",
    )


def test_an_event_appended_behind_the_ledgers_back_is_reported_as_not_yet_linked(
    runtime: Runtime, linked: list[int], database_url: str
) -> None:
    _as_superuser(
        database_url,
        "INSERT INTO ledger_events (originator_id, originator_version, topic, state)"
        " SELECT %s, 1, topic, state FROM ledger_events ORDER BY notification_id LIMIT 1",
        (uuid.uuid4(),),
    )
    result = verify(runtime)
    # A hash chain cannot tell a forged append from a real one; it says what it has not seen.
    assert result.verified and result.unlinked == 1 and result.position == linked[-1]


def test_two_swapped_events_are_named_at_the_first_of_them(
    runtime: Runtime, linked: list[int], database_url: str
) -> None:
    first, second = linked[4], linked[9]
    with psycopg.connect(database_url) as conn:
        conn.execute("SET session_replication_role = replica")
        for old, new in ((first, -1), (second, first), (-1, second)):
            conn.execute(
                "UPDATE ledger_events SET notification_id = %s WHERE notification_id = %s",
                (new, old),
            )
    result = verify(runtime)
    assert (result.verified, result.first_bad_position, result.problem) == (
        False,
        first,
        "reordered",
    )


def test_two_events_with_swapped_contents_are_named_at_the_first_of_them(
    runtime: Runtime, linked: list[int], database_url: str
) -> None:
    first, second = linked[6], linked[7]
    _as_superuser(
        database_url,
        "UPDATE ledger_events e SET topic = o.topic, state = o.state FROM ledger_events o"
        " WHERE (e.notification_id, o.notification_id) IN ((%s, %s), (%s, %s))",
        (first, second, second, first),
    )
    result = verify(runtime)
    assert (result.verified, result.first_bad_position, result.problem) == (
        False,
        first,
        "changed",
    )


def test_a_forged_checkpoint_signature_is_caught(runtime: Runtime, linked: list[int]) -> None:
    forger = Signer(Ed25519PrivateKey.generate())
    with runtime.reads.transaction(commit=True) as curs:
        curs.execute("SELECT * FROM chain_checkpoints ORDER BY position OFFSET 1 LIMIT 1")
        row = curs.fetchone()
        assert row is not None
        forged = forger.sign_checkpoint(
            position=row["position"], events=row["events"], head_hash=row["head_hash"]
        )
        curs.execute(
            "UPDATE chain_checkpoints SET signature = %s WHERE position = %s",
            (forged, row["position"]),
        )
    result = verify(runtime)
    assert (result.verified, result.first_bad_position, result.problem) == (
        False,
        row["position"],
        "bad signature",
    )
    assert result.checkpoints.verified == 1


def test_events_rewritten_together_with_their_links_are_caught_by_a_checkpoint(
    runtime: Runtime, linked: list[int], database_url: str
) -> None:
    """Someone who also recomputes the chain table cannot re-sign the checkpoints."""
    target = _positions(database_url, "topic LIKE '%%VideoSystem.Filed'")[1]
    _as_superuser(
        database_url,
        "UPDATE ledger_events SET state = convert_to(replace(convert_from(state, 'UTF8'),"
        " '\"storage_days\":30', '\"storage_days\":7'), 'UTF8') WHERE notification_id = %s",
        (target,),
    )
    assert verify(runtime).first_bad_position == target
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        links = conn.execute("SELECT * FROM chain_links ORDER BY position").fetchall()
        events = {
            row["notification_id"]: row
            for row in conn.execute("SELECT * FROM ledger_events").fetchall()
        }
        prev = links[0]["prev_hash"]
        for link in links:
            event = events[link["position"]]
            digest = link_hash(
                position=link["position"],
                originator_id=event["originator_id"],
                originator_version=event["originator_version"],
                topic=event["topic"],
                state=event["state"],
                prev_hash=prev,
            )
            conn.execute(
                "UPDATE chain_links SET hash = %s, prev_hash = %s WHERE position = %s",
                (digest, prev, link["position"]),
            )
            prev = digest
    result = verify(runtime)
    first_checkpoint_after = next(
        p for i, p in enumerate(linked, 1) if i % CHECKPOINT_EVERY == 0 and p >= target
    )
    assert (result.verified, result.first_bad_position, result.problem) == (
        False,
        first_checkpoint_after,
        "checkpoint mismatch",
    )


def test_history_hashes_are_the_chains(runtime: Runtime, linked: list[int]) -> None:
    with runtime.reads.transaction() as curs:
        curs.execute(
            "SELECT originator_id FROM chain_links GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
        )
        row = curs.fetchone()
        assert row is not None
        curs.execute(
            "SELECT originator_version, hash, prev_hash FROM chain_links WHERE originator_id = %s",
            (row["originator_id"],),
        )
        expected = {r["originator_version"]: (r["hash"], r["prev_hash"]) for r in curs}
    assert chain_hashes(runtime.reads, row["originator_id"]) == expected
    assert expected


# --- the database refuses changes -----------------------------------------------------------


@pytest.mark.parametrize("table", ["ledger_events", "ledger_snapshots"])
@pytest.mark.parametrize(
    "statement", ["UPDATE {} SET topic = 'x'", "DELETE FROM {}", "TRUNCATE {}"]
)
def test_the_trigger_refuses_any_change_to_stored_events(
    runtime: Runtime, linked: list[int], database_url: str, table: str, statement: str
) -> None:
    with psycopg.connect(database_url) as conn:  # inserting is what the tables are for
        conn.execute(
            sql.SQL(
                "INSERT INTO {} (originator_id, originator_version, topic, state)"
                " VALUES (%s, 1, 't', '{{}}')"
            ).format(sql.Identifier(table)),
            (uuid.uuid4(),),
        )
    with psycopg.connect(database_url) as conn:
        before = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
        count = before.fetchone()
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            conn.execute(sql.SQL(statement).format(sql.Identifier(table)))
    with psycopg.connect(database_url) as conn:
        after = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
        assert after.fetchone() == count


def test_a_start_re_enables_a_disabled_trigger(
    runtime: Runtime, linked: list[int], database_url: str, settings: Settings, tmp_path: Path
) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE ledger_events DISABLE TRIGGER ALL")
    open_runtime(settings.model_copy(update={"data_dir": tmp_path}), projections=False).close()
    with psycopg.connect(database_url) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("DELETE FROM ledger_events")


def test_the_applications_role_may_read_and_append_but_not_delete(
    runtime: Runtime, linked: list[int], database_url: str
) -> None:
    role = f"psvs_app_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        try:
            for statement in grant_statements(runtime.ledger, role):
                conn.execute(statement)
            _check_role(database_url, role)
        finally:
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def _check_role(database_url: str, role: str) -> None:
    params = psycopg.conninfo.conninfo_to_dict(database_url)
    as_role = psycopg.conninfo.make_conninfo(**{**params, "user": role})  # type: ignore[arg-type]
    with psycopg.connect(as_role) as conn:
        conn.execute("LOCK TABLE ledger_events IN EXCLUSIVE MODE")  # eventsourcing's insert
        conn.execute(
            "INSERT INTO ledger_events (originator_id, originator_version, topic, state)"
            " VALUES (%s, 1, 't', '{}')",
            (uuid.uuid4(),),
        )
        assert conn.execute("SELECT count(*) FROM ledger_events").fetchone()
    for statement, error in [
        ("DELETE FROM ledger_events", psycopg.errors.InsufficientPrivilege),
        ("TRUNCATE ledger_events", psycopg.errors.InsufficientPrivilege),
        ("UPDATE ledger_events SET topic = 'x'", psycopg.errors.InsufficientPrivilege),
        ("ALTER TABLE ledger_events DISABLE TRIGGER ALL", psycopg.errors.InsufficientPrivilege),
    ]:
        with psycopg.connect(as_role) as conn, pytest.raises(error):
            conn.execute(statement)

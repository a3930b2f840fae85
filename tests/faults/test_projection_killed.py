"""A projection worker killed with SIGKILL in the middle of its catch-up: after a restart,
each view equals the same view replayed from scratch into a new generation, row for row."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from psycopg import sql

from api.core.embedded import start_embedded_postgres, stop_embedded_postgres
from api.core.runtime import Runtime, open_runtime
from api.core.settings import Settings
from api.identity.tokens import new_token
from ledger.services.application import RequestKey
from ledger.values import Role
from projections.base import physical_prefix
from projections.catalog import VIEWS
from projections.runner import BatchRunner, ViewSlot
from tests.support import http as h
from tests.support.faults import Deployment, report, wait_for

pytestmark = pytest.mark.faults
FILINGS = 1500  # about 4,500 events: several pages of the runner's 1,000
REPLAY_GENERATION = 999
# When the chain view signed a checkpoint (the server's now()): the one column that records
# the moment of processing rather than the log, so no replay can reproduce it.
WALL_CLOCK = {"signed_at"}


@pytest.fixture
def runtime(deployment: Deployment) -> Iterator[Runtime]:
    """The test's own view of the deployment's database (no runners)."""
    deployment.serve("--no-projections")  # creates the tables and the views' registry
    url = start_embedded_postgres(deployment.pgdata)
    rt = open_runtime(Settings(database_url=url, data_dir=deployment.data), projections=False)
    try:
        yield rt
    finally:
        rt.close()
        stop_embedded_postgres(deployment.pgdata)


def _write(rt: Runtime, filings: int) -> None:
    """Units and their filings, written straight through the ledger (fast, many events)."""
    today = h.today()
    for unit in range(10):
        uscc = h.make_uscc()
        account = rt.ledger.open_account(
            token_sha256=new_token()[1], role=Role.LEGAL_PERSON, name=f"单位{unit}",
            phone="13800138000", uscc=uscc, bound_by="operator", today=today,
        )  # fmt: skip
        fields = {k: v for k, v in h.unit_body(uscc).items() if k != "acknowledged_instructions"}
        fields.update(authorization_letter_id=None, business_licence_id=None)
        rt.ledger.register_unit(caller=account, fields=fields, today=today)
        for n in range(filings // 10):
            body = h.filing_body(uscc, devices=1, name=f"系统 {unit}-{n}")
            devices = body.pop("devices")
            body.pop("acknowledged_instructions")
            body["commissioned_on"] = date.fromisoformat(body["commissioned_on"])
            rt.ledger.file_system(
                caller=account, fields=body, devices=devices, today=today,
                request=RequestKey(key=uuid.uuid4().hex, digest="x"),
            )  # fmt: skip


def _positions(rt: Runtime) -> dict[str, int]:
    return {name: rt.view_position(name) for name in rt.slots}


def _rows(rt: Runtime, kind: Any, generation: int) -> dict[str, list[tuple[str, ...]]]:
    prefix = physical_prefix(kind.name, generation)
    tables: dict[str, list[tuple[str, ...]]] = {}
    with rt.reads.transaction(commit=False) as curs:
        for suffix in [*kind.tables, "tracking"]:
            curs.execute(sql.SQL("SELECT * FROM {}").format(sql.Identifier(f"{prefix}_{suffix}")))
            tables[suffix] = sorted(
                tuple(str(v) for k, v in row.items() if k not in WALL_CLOCK)
                for row in curs.fetchall()
            )
    return tables


def test_a_view_worker_killed_mid_catch_up_resumes_to_what_a_replay_gives(
    deployment: Deployment, runtime: Runtime
) -> None:
    _write(runtime, FILINGS)
    head = runtime.head()
    worker = deployment.spawn("projections", "run", log="projections.log")
    # Kill it once some view has applied a page or more but not yet all of them.
    wait_for(lambda: any(0 < p < head for p in _positions(runtime).values()), 120, "a first page")
    deployment.kill(worker)
    at_kill = _positions(runtime)
    deployment.spawn("projections", "run", log="projections.log")
    wait_for(lambda: min(_positions(runtime).values()) >= head, 180, "the views to catch up")

    differing = []
    for name, kind in VIEWS.items():
        slot = runtime.slots[name]
        slot.refresh()
        replay = runtime.open_view(kind, REPLAY_GENERATION, slot.rules)
        slot_of_replay = ViewSlot(
            name=name,
            open=lambda g, r, view=replay: view,  # type: ignore[misc]
            registry=runtime.registry,
            view=replay,
        )
        runner = BatchRunner(
            app=runtime.ledger, conninfo=lambda: runtime.url, follow_registry=False,
            slot=slot_of_replay,
        )  # fmt: skip
        runner.catch_up()
        replay.datastore.close()
        if _rows(runtime, kind, slot.view.generation) != _rows(runtime, kind, REPLAY_GENERATION):
            differing.append(name)
    report("projection_worker_sigkill", {
        "events": head, "positions_at_kill": at_kill, "views_compared": len(VIEWS),
        "views_differing": len(differing),
    })  # fmt: skip
    assert any(0 < p < head for p in at_kill.values())  # the kill did land mid-catch-up
    assert differing == []

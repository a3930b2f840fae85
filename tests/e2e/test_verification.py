"""`GET /v1/ledger/verification` and `psvs-ledger verify` against the running service."""

from __future__ import annotations

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.cli.main import main
from api.core.runtime import Runtime
from api.core.settings import Settings
from ledger.values import Role
from tests.support.http import assert_problem, auth, filed, police_token, unit_account

ROUTE = "/v1/ledger/verification"


def _filings(client: TestClient, count: int) -> None:
    account = unit_account(client)
    for _ in range(count):
        filed(client, account)


def _linked(runtime: Runtime) -> None:
    assert runtime.wait_for_views(runtime.head(), timeout=10, names=("chain",))


def test_an_auditor_and_an_admin_see_an_untouched_ledger_verified(
    client: TestClient, runtime: Runtime
) -> None:
    _filings(client, 3)
    _linked(runtime)
    for role, division in ((Role.AUDITOR, "5001"), (Role.ADMIN, None)):
        response = client.get(ROUTE, headers=auth(police_token(runtime, role, division)))
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["verified"] is True
        assert body["events"] >= 3 and len(body["head_hash"]) == 64
        assert body["first_bad_position"] is None and body["problem"] is None
        assert body["checkpoints"]["key_id"] and body["checkpoints"]["public_key"]


def test_officers_are_forbidden_and_unit_accounts_find_nothing(
    client: TestClient, runtime: Runtime
) -> None:
    officer = police_token(runtime, Role.OFFICER, "500108")
    assert_problem(client.get(ROUTE, headers=auth(officer)), 403)
    unit = unit_account(client)
    assert_problem(client.get(ROUTE, headers=auth(unit.token)), 404)
    assert_problem(client.get(ROUTE), 401)


def test_a_changed_event_is_reported_by_the_route_and_the_command(
    client: TestClient,
    runtime: Runtime,
    database_url: str,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _filings(client, 2)
    _linked(runtime)
    monkeypatch.setenv("LEDGER_DATABASE_URL", database_url)
    monkeypatch.setenv("LEDGER_DATA_DIR", str(settings.data_dir))
    assert main(["verify"]) == 0
    assert "OK: the hash chain holds" in capsys.readouterr().out
    with psycopg.connect(database_url) as conn:
        conn.execute("SET session_replication_role = replica")
        target = conn.execute(
            "UPDATE ledger_events SET topic = topic || 'X' WHERE notification_id ="
            " (SELECT max(notification_id) FROM ledger_events WHERE topic LIKE '%Filed')"
            " RETURNING notification_id"
        ).fetchone()
    assert target is not None
    auditor = police_token(runtime, Role.AUDITOR, None)
    body = client.get(ROUTE, headers=auth(auditor)).json()
    assert body["verified"] is False
    assert (body["first_bad_position"], body["problem"]) == (target[0], "changed")
    assert main(["verify"]) == 1
    assert f"first bad position {target[0]}: changed" in capsys.readouterr().out


def test_a_history_hash_can_be_recomputed_by_hand_from_the_stored_event(
    client: TestClient, runtime: Runtime, database_url: str
) -> None:
    """What an auditor does with psql and a few lines of Python: the recipe of
    projections/hashing.py with nothing from this project but the event id."""
    import hashlib
    import json

    import rfc8785

    from ledger.ids import event_id

    _filings(client, 1)
    _linked(runtime)
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT notification_id, originator_id, originator_version, topic, state"
            " FROM ledger_events WHERE topic LIKE %s",
            ("%VideoSystem.Filed",),
        ).fetchone()
    assert row is not None
    position, originator_id, version, topic, state = row
    admin = police_token(runtime, Role.ADMIN, None)
    response = client.get(f"/v1/systems/{originator_id}/history", headers=auth(admin))
    assert response.status_code == 200, response.text
    item = response.json()["items"][0]
    content = {
        "position": position,
        "event_id": str(event_id(originator_id, version)),
        "originator_id": str(originator_id),
        "originator_version": version,
        "topic": topic,
        "state": json.loads(bytes(state)),
        "prev_hash": item["prev_hash"],
    }
    assert item["hash"] == hashlib.sha256(rfc8785.dumps(content)).hexdigest()

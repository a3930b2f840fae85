"""Every system response lists its obligations, with the dates and flags of the overdue lists."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from api.core.runtime import Runtime
from ledger.values import Role
from tests.support.codes import NANAN
from tests.support.http import auth, change, filed, list_systems, police_token, today, unit_account


def _late_change_and_open_order(client: TestClient, runtime: Runtime) -> dict[str, Any]:
    """A system put into use 90 days ago and filed today (late), renamed today with effect
    from 60 days ago (a late change), then ordered to correct within 15 days (open)."""
    account = unit_account(client)
    commissioned = (today() - timedelta(days=90)).isoformat()
    system = filed(client, account, commissioned_on=commissioned).json()
    body = {
        "effective_on": (today() - timedelta(days=60)).isoformat(),
        "reason": "更名",
        "changes": {"name": "南坪商圈视频监控系统（二期）"},
    }
    changed = change(client, account.token, system["system_id"], body, '"1"')
    assert changed.status_code == 200, changed.text
    officer = police_token(runtime, Role.OFFICER, NANAN)
    ordered = client.post(
        f"/v1/systems/{system['system_id']}/correction-orders",
        json={"reason": "摄像机数量不符", "due_on": (today() + timedelta(days=15)).isoformat()},
        headers=auth(officer),
    )
    assert ordered.status_code == 201, ordered.text
    return {"account": account, "officer": officer, "changed": changed, "ordered": ordered}


def _by_kind(obligations: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    assert len({o["kind"] for o in obligations}) == len(obligations), obligations
    return {o["kind"]: o for o in obligations}


def test_obligations_list_a_late_change_and_an_open_correction_order(
    client: TestClient, runtime: Runtime
) -> None:
    case = _late_change_and_open_order(client, runtime)
    state = case["ordered"].json()

    duties = _by_kind(state["obligations"])

    registration, change_duty, correction = (
        duties["registration"],
        duties["change"],
        duties["correction"],
    )
    assert registration["met_on"] == today().isoformat()
    assert (registration["late"], registration["overdue"]) == (True, False)
    assert registration["due_on"] == state["due_on"]
    assert change_duty["met_on"] == today().isoformat()
    assert change_duty["due_on"] < today().isoformat()
    assert (change_duty["late"], change_duty["overdue"]) == (True, False)
    assert change_duty["seq"] == 2
    assert correction["met_on"] is None
    assert correction["due_on"] == (today() + timedelta(days=15)).isoformat()
    assert (correction["late"], correction["overdue"]) == (False, False)
    assert correction["order_id"] == state["correction_orders"][0]["order_id"]
    assert {o["rules_version"] for o in state["obligations"]} == {state["rules_version"]}


def test_a_read_a_list_and_the_overdue_lists_agree_on_every_obligation(
    client: TestClient, runtime: Runtime
) -> None:
    case = _late_change_and_open_order(client, runtime)
    system_id = case["ordered"].json()["system_id"]
    account, officer = case["account"], case["officer"]

    read = client.get(f"/v1/systems/{system_id}", headers=account.headers).json()
    [listed] = list_systems(client, account.token)["items"]
    police_listed = list_systems(client, officer)["items"]
    overdue = client.get("/v1/overdue", params={"kind": "change_late"}, headers=auth(officer))

    assert read["obligations"] == listed["obligations"] == police_listed[0]["obligations"]
    [late] = overdue.json()["items"]
    assert late["due_on"] == _by_kind(read["obligations"])["change"]["due_on"]
    assert late["met_on"] == _by_kind(read["obligations"])["change"]["met_on"]


def test_the_change_response_carries_its_own_duty_and_as_of_reads_only_what_was_known(
    client: TestClient, runtime: Runtime
) -> None:
    case = _late_change_and_open_order(client, runtime)
    changed = case["changed"].json()
    system_id, account = changed["system_id"], case["account"]
    before_change = datetime.fromisoformat(changed["recorded_at"]) - timedelta(microseconds=1)

    then = client.get(
        f"/v1/systems/{system_id}",
        params={"as_of": before_change.isoformat()},
        headers=account.headers,
    )

    assert [o["kind"] for o in changed["obligations"]] == ["registration", "change"]
    assert then.status_code == 200, then.text
    assert [o["kind"] for o in then.json()["obligations"]] == ["registration"]

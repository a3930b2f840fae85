"""Correction orders and inspections through HTTP (docs/contract.md, "Police side"): who may
write them, what a bad body gets back, and an idempotent retry."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from api.core.runtime import Runtime
from ledger.values import Role
from tests.support.codes import NANAN, SHAPINGBA
from tests.support.http import (
    UnitAccount,
    assert_problem,
    auth,
    cancel,
    error_locs,
    filed,
    names_field,
    police_token,
    system_history,
    today,
    unit_account,
)


@pytest.fixture
def system(client: TestClient, owner: UnitAccount) -> dict[str, Any]:
    """A system the unit filed online in 南岸区."""
    body: dict[str, Any] = filed(client, owner).json()
    return body


def order_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "reason": "摄像机数量与备案不符",
        "due_on": (today() + timedelta(days=15)).isoformat(),
    }
    body.update(overrides)
    return body


def inspection_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "inspected_on": today().isoformat(),
        "result": "discrepancy",
        "note": "现场摄像机比备案多两台",
    }
    body.update(overrides)
    return body


def post_order(
    client: TestClient, token: str, system_id: str, body: dict[str, Any], **headers: str
) -> Response:
    return client.post(
        f"/v1/systems/{system_id}/correction-orders",
        json=body,
        headers={**auth(token), **headers},
    )


def post_inspection(
    client: TestClient, token: str, system_id: str, body: dict[str, Any], **headers: str
) -> Response:
    return client.post(
        f"/v1/systems/{system_id}/inspections", json=body, headers={**auth(token), **headers}
    )


def test_an_officer_orders_a_correction_and_gets_the_systems_new_state(
    client: TestClient, officer: str, system: dict[str, Any]
) -> None:
    body = order_body()

    response = post_order(client, officer, system["system_id"], body)

    assert response.status_code == 201, response.text
    assert response.headers["ETag"] == '"2"'
    assert response.headers["Location"] == f"/v1/systems/{system['system_id']}"
    state = response.json()
    assert (state["system_id"], state["version"], state["status"]) == (
        system["system_id"],
        2,
        "filed",
    )
    assert state["open_correction_orders"] == 1
    [order] = state["correction_orders"]
    assert (order["due_on"], order["ordered_on"], order["met_on"]) == (
        body["due_on"],
        today().isoformat(),
        None,
    )


def test_an_officer_records_an_inspection_and_gets_the_systems_new_state(
    client: TestClient, officer: str, system: dict[str, Any]
) -> None:
    response = post_inspection(client, officer, system["system_id"], inspection_body())

    assert response.status_code == 201, response.text
    assert response.headers["ETag"] == '"2"'
    assert response.json()["last_inspection"] == {
        "on": today().isoformat(),
        "result": "discrepancy",
    }


def test_history_lists_the_order_and_the_inspection_with_actor_and_channel(
    client: TestClient, officer: str, owner: UnitAccount, system: dict[str, Any]
) -> None:
    system_id = system["system_id"]
    order = order_body()
    assert post_order(client, officer, system_id, order).status_code == 201
    assert post_inspection(client, officer, system_id, inspection_body()).status_code == 201

    items = system_history(client, owner.token, system_id)

    assert [item["type"] for item in items] == ["filed", "correction_ordered", "inspected"]
    ordered, inspected = items[1], items[2]
    for item in (ordered, inspected):
        assert item["actor"]["role"] == "officer"
        assert item["actor"]["name"] == "警官"
        assert item["channel"] == "offline"
        assert item["effective_on"] == today().isoformat()
    assert ordered["data"]["reason"] == order["reason"]
    assert ordered["data"]["due_on"] == order["due_on"]
    assert len(ordered["data"]["order_id"]) == 36
    assert inspected["data"]["result"] == "discrepancy"
    assert inspected["data"]["note"] == "现场摄像机比备案多两台"
    assert len(inspected["data"]["inspection_id"]) == 36


def test_a_consistent_inspection_meets_the_open_order(
    client: TestClient, officer: str, system: dict[str, Any]
) -> None:
    system_id = system["system_id"]
    assert post_order(client, officer, system_id, order_body()).status_code == 201

    response = post_inspection(client, officer, system_id, inspection_body(result="consistent"))

    assert response.status_code == 201, response.text
    assert response.json()["open_correction_orders"] == 0
    assert response.json()["correction_orders"][0]["met_on"] == today().isoformat()
    read = client.get(f"/v1/systems/{system_id}", headers=auth(officer))
    assert read.json()["open_correction_orders"] == 0


def test_an_officer_of_another_district_gets_404(
    client: TestClient, runtime: Runtime, owner: UnitAccount, system: dict[str, Any]
) -> None:
    stranger = police_token(runtime, Role.OFFICER, SHAPINGBA)

    assert_problem(post_order(client, stranger, system["system_id"], order_body()), 404)
    assert_problem(post_inspection(client, stranger, system["system_id"], inspection_body()), 404)
    assert len(system_history(client, owner.token, system["system_id"])) == 1


def test_a_unit_account_gets_403_on_its_own_system_and_404_on_anothers(
    client: TestClient, owner: UnitAccount, system: dict[str, Any]
) -> None:
    other = unit_account(client)

    assert_problem(post_order(client, owner.token, system["system_id"], order_body()), 403)
    assert_problem(
        post_inspection(client, owner.token, system["system_id"], inspection_body()), 403
    )
    assert_problem(post_order(client, other.token, system["system_id"], order_body()), 404)
    assert_problem(
        post_inspection(client, other.token, system["system_id"], inspection_body()), 404
    )
    assert len(system_history(client, owner.token, system["system_id"])) == 1


def test_an_auditor_of_the_district_gets_403(
    client: TestClient, runtime: Runtime, system: dict[str, Any]
) -> None:
    reader = police_token(runtime, Role.AUDITOR, "5001", name="审计")

    assert_problem(post_order(client, reader, system["system_id"], order_body()), 403)


def test_nothing_is_ordered_or_inspected_after_a_cancellation(
    client: TestClient, officer: str, owner: UnitAccount, system: dict[str, Any]
) -> None:
    system_id = system["system_id"]
    assert cancel(client, owner.token, system_id, '"1"').status_code == 200

    assert_problem(post_order(client, officer, system_id, order_body()), 409)
    assert_problem(post_inspection(client, officer, system_id, inspection_body()), 409)
    assert len(system_history(client, owner.token, system_id)) == 2


def test_a_bad_order_is_422_naming_every_bad_field_and_writes_nothing(
    client: TestClient, officer: str, owner: UnitAccount, system: dict[str, Any]
) -> None:
    body = order_body(reason="", due_on=(today() - timedelta(days=1)).isoformat(), urgent=True)

    problem = assert_problem(post_order(client, officer, system["system_id"], body), 422)

    assert names_field(problem, "reason")
    assert names_field(problem, "due_on")
    assert names_field(problem, "urgent")
    assert len(system_history(client, owner.token, system["system_id"])) == 1


def test_an_order_due_today_is_422_naming_due_on(
    client: TestClient, officer: str, owner: UnitAccount, system: dict[str, Any]
) -> None:
    body = order_body(due_on=today().isoformat())

    problem = assert_problem(post_order(client, officer, system["system_id"], body), 422)

    assert error_locs(problem) == [["body", "due_on"]]
    assert len(system_history(client, owner.token, system["system_id"])) == 1


def test_a_bad_inspection_is_422_naming_every_bad_field_and_writes_nothing(
    client: TestClient, officer: str, owner: UnitAccount, system: dict[str, Any]
) -> None:
    body = inspection_body(
        inspected_on=(today() + timedelta(days=1)).isoformat(), result="fine", note=7
    )

    problem = assert_problem(post_inspection(client, officer, system["system_id"], body), 422)

    assert names_field(problem, "inspected_on")
    assert names_field(problem, "result")
    assert names_field(problem, "note")
    assert len(system_history(client, owner.token, system["system_id"])) == 1


def test_an_inspection_dated_tomorrow_is_422_naming_inspected_on(
    client: TestClient, officer: str, system: dict[str, Any]
) -> None:
    body = inspection_body(inspected_on=(today() + timedelta(days=1)).isoformat())

    problem = assert_problem(post_inspection(client, officer, system["system_id"], body), 422)

    assert error_locs(problem) == [["body", "inspected_on"]]


def test_a_retried_order_with_its_idempotency_key_returns_the_first_response(
    client: TestClient, officer: str, owner: UnitAccount, system: dict[str, Any]
) -> None:
    system_id = system["system_id"]
    first = post_order(client, officer, system_id, order_body(), **{"Idempotency-Key": "o-1"})
    assert first.status_code == 201, first.text
    assert post_inspection(client, officer, system_id, inspection_body()).status_code == 201

    again = post_order(client, officer, system_id, order_body(), **{"Idempotency-Key": "o-1"})

    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["ETag"] == first.headers["ETag"] == '"2"'
    assert [i["type"] for i in system_history(client, owner.token, system_id)] == [
        "filed",
        "correction_ordered",
        "inspected",
    ]


def test_a_retried_inspection_with_its_idempotency_key_returns_the_first_response(
    client: TestClient, officer: str, owner: UnitAccount, system: dict[str, Any]
) -> None:
    system_id = system["system_id"]
    key = {"Idempotency-Key": "i-1"}
    first = post_inspection(client, officer, system_id, inspection_body(), **key)

    again = post_inspection(client, officer, system_id, inspection_body(), **key)

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert len(system_history(client, owner.token, system_id)) == 2


def test_an_idempotency_key_reused_with_another_body_is_422(
    client: TestClient, officer: str, owner: UnitAccount, system: dict[str, Any]
) -> None:
    system_id = system["system_id"]
    key = {"Idempotency-Key": "o-2"}
    assert post_order(client, officer, system_id, order_body(), **key).status_code == 201

    assert_problem(
        post_order(client, officer, system_id, order_body(reason="另一理由"), **key), 422
    )
    assert len(system_history(client, owner.token, system_id)) == 2


def discovery_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "南坪广场未备案监控",
        "address": "重庆市南岸区南坪广场",
        "division_code": NANAN,
        "place_category": 1,
        "place_type": "square",
        "commissioned_on": (today() - timedelta(days=40)).isoformat(),
        "note": "巡查发现",
    }
    body.update(overrides)
    return body


def test_an_officer_records_a_discovery_and_orders_it_filed(
    client: TestClient, officer: str
) -> None:
    discovered = client.post("/v1/discoveries", json=discovery_body(), headers=auth(officer))
    assert discovered.status_code == 201, discovered.text
    assert (discovered.json()["status"], discovered.json()["filing_number"]) == ("unfiled", None)
    system_id = discovered.json()["system_id"]

    ordered = post_order(client, officer, system_id, order_body(reason="限期备案"))

    assert ordered.status_code == 201, ordered.text
    assert (ordered.json()["status"], ordered.json()["open_correction_orders"]) == ("unfiled", 1)


def test_filing_a_discovered_system_meets_the_order_to_file_it(
    client: TestClient, officer: str, owner: UnitAccount
) -> None:
    body = discovery_body(unit_uscc=owner.uscc)
    discovered = client.post("/v1/discoveries", json=body, headers=auth(officer))
    system_id = discovered.json()["system_id"]
    assert post_order(client, officer, system_id, order_body()).status_code == 201

    filing = filed(client, owner, discovered_system_id=system_id)

    assert filing.json()["system_id"] == system_id
    assert filing.json()["open_correction_orders"] == 0
    assert filing.json()["correction_orders"][0]["met_on"] == today().isoformat()


def test_only_an_officer_records_a_discovery(client: TestClient, owner: UnitAccount) -> None:
    response = client.post("/v1/discoveries", json=discovery_body(), headers=owner.headers)

    assert_problem(response, 403)

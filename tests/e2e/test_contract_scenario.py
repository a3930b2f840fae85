"""The acceptance scenario, step by step, through HTTP only (docs/contract.md).

A legal person registers its unit, files a system with its cameras, reads, lists, changes and
cancels it, and the ledger keeps its history, its past states and its scope.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.core.runtime import Runtime
from ledger.values import Role
from tests.support.codes import NANAN, SHAPINGBA, make_uscc
from tests.support.http import (
    FILING_NUMBER,
    SHANGHAI,
    UnitAccount,
    assert_problem,
    auth,
    cancel,
    change,
    change_body,
    file_system,
    filed,
    filing_body,
    list_systems,
    open_legal_person,
    police_token,
    register_unit,
    system_history,
    today,
    unit_account,
)


@pytest.fixture
def system(client: TestClient, owner: UnitAccount) -> dict[str, Any]:
    """A system filed online by `owner` with 3 cameras, as the 201 returned it."""
    body: dict[str, Any] = filed(client, owner, devices=3).json()
    return body


def read(client: TestClient, token: str, system_id: str, **params: Any) -> Any:
    return client.get(f"/v1/systems/{system_id}", params=params, headers=auth(token))


def renamed(client: TestClient, owner: UnitAccount, system: dict[str, Any]) -> Any:
    response = change(
        client,
        owner.token,
        system["system_id"],
        change_body(name="南坪商圈视频监控系统（二期）"),
        '"1"',
    )
    assert response.status_code == 200, response.text
    return response


# --- registering -----------------------------------------------------------------------------


def test_an_officer_opens_a_legal_person_account_at_the_window_201_with_its_token(
    client: TestClient,
) -> None:
    account = open_legal_person(client)  # POST /v1/units/{uscc}/legal-person-accounts

    assert account.account_id and account.token
    me = client.get("/v1/accounts/me", headers=account.headers)
    assert me.status_code == 200, me.text
    assert me.json()["role"] == "legal_person" and me.json()["uscc"] == account.uscc


def test_self_signup_of_a_legal_person_is_422_naming_kind_and_uscc(client: TestClient) -> None:
    response = client.post(
        "/v1/accounts",
        json={"kind": "legal_person", "name": "某公司", "phone": "13800138000",
              "uscc": make_uscc()},
    )  # fmt: skip

    assert response.status_code == 422, response.text
    locs = [e["loc"] for e in response.json()["errors"]]
    assert ["body", "kind"] in locs and ["body", "uscc"] in locs


def test_a_legal_person_registers_its_own_unit_without_a_letter(client: TestClient) -> None:
    account = open_legal_person(client)

    response = register_unit(client, account.token, account.uscc)

    assert response.status_code == 201, response.text
    assert response.json()["uscc"] == account.uscc
    fetched = client.get(f"/v1/units/{account.uscc}", headers=account.headers)
    assert fetched.status_code == 200, fetched.text
    assert fetched.json()["uscc"] == account.uscc


# --- filing ----------------------------------------------------------------------------------


def test_filing_returns_201_with_location_etag_and_the_filed_system(
    client: TestClient, owner: UnitAccount
) -> None:
    response = file_system(client, owner.token, filing_body(owner.uscc, devices=3))

    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["ETag"] == '"1"'
    assert response.headers["Location"].endswith(f"/v1/systems/{body['system_id']}")
    assert FILING_NUMBER.match(body["filing_number"]), body["filing_number"]
    assert body["filing_number"].split("-")[1] == str(today().year)
    assert body["unit_uscc"] == owner.uscc
    assert body["status"] == "filed"
    assert body["channel"] == "online"
    assert body["camera_count"] == 3
    assert body["version"] == 1
    assert body["due_on"]
    assert datetime.fromisoformat(body["filed_at"]).tzinfo is not None
    assert body["filed_late"] is False
    assert isinstance(body["warnings"], list)
    assert isinstance(body["obligations"], list)
    registration = [o for o in body["obligations"] if o["kind"] == "registration"]
    assert len(registration) == 1
    assert set(registration[0]) >= {"kind", "due_on", "met_on", "overdue", "late"}
    assert registration[0]["met_on"] == today().isoformat()


def test_a_camera_in_a_forbidden_place_is_filed_with_a_warning(
    client: TestClient, owner: UnitAccount
) -> None:
    body = filing_body(owner.uscc, devices=2)
    body["devices"][1]["address"] = "商场三楼卫生间门口"

    response = file_system(client, owner.token, body)

    assert response.status_code == 201, response.text
    assert response.json()["status"] == "filed"
    assert len(response.json()["warnings"]) >= 1


def test_reading_a_filed_system_returns_it_with_the_same_etag(
    client: TestClient, owner: UnitAccount, system: dict[str, Any]
) -> None:
    response = read(client, owner.token, system["system_id"])

    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == '"1"'
    assert response.json()["filing_number"] == system["filing_number"]
    assert response.json()["version"] == 1


def test_listing_shows_the_filed_system_and_a_next_cursor(
    client: TestClient, owner: UnitAccount, system: dict[str, Any]
) -> None:
    page = list_systems(client, owner.token)

    assert "next_cursor" in page
    assert [item["system_id"] for item in page["items"]] == [system["system_id"]]
    assert page["next_cursor"] is None


def test_a_list_is_paginated_by_cursor(client: TestClient, owner: UnitAccount) -> None:
    ids = [filed(client, owner).json()["system_id"] for _ in range(3)]

    first = list_systems(client, owner.token, limit=2)
    second = list_systems(client, owner.token, limit=2, cursor=first["next_cursor"])

    assert len(first["items"]) == 2 and first["next_cursor"]
    assert second["next_cursor"] is None
    seen = [i["system_id"] for i in first["items"]] + [i["system_id"] for i in second["items"]]
    assert sorted(seen) == sorted(ids)


# --- changing --------------------------------------------------------------------------------


def test_a_change_with_a_stale_etag_is_412_and_writes_nothing(
    client: TestClient, owner: UnitAccount, system: dict[str, Any]
) -> None:
    renamed(client, owner, system)

    response = change(
        client,
        owner.token,
        system["system_id"],
        change_body(address="重庆市南岸区江南大道8号"),
        '"1"',
    )

    assert_problem(response, 412)
    current = read(client, owner.token, system["system_id"])
    assert current.headers["ETag"] == '"2"'
    assert current.json()["address"] == system["address"]


def test_a_change_with_the_current_etag_returns_version_2_and_is_read_at_once(
    client: TestClient, owner: UnitAccount, system: dict[str, Any]
) -> None:
    response = change(
        client,
        owner.token,
        system["system_id"],
        change_body(name="南坪商圈视频监控系统（二期）"),
        '"1"',
    )

    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == '"2"'
    assert response.json()["version"] == 2
    assert response.json()["name"] == "南坪商圈视频监控系统（二期）"
    assert response.json()["filing_number"] == system["filing_number"]
    again = read(client, owner.token, system["system_id"])
    assert again.headers["ETag"] == '"2"'
    assert again.json()["name"] == "南坪商圈视频监控系统（二期）"


def test_a_change_is_listed_at_once(
    client: TestClient, owner: UnitAccount, system: dict[str, Any]
) -> None:
    renamed(client, owner, system)

    items = list_systems(client, owner.token)["items"]

    assert [(i["name"], i["version"]) for i in items] == [("南坪商圈视频监控系统（二期）", 2)]


def test_a_change_without_if_match_is_428_and_writes_nothing(
    client: TestClient, owner: UnitAccount, system: dict[str, Any]
) -> None:
    response = change(client, owner.token, system["system_id"], change_body(name="新名称"), None)

    assert_problem(response, 428)
    assert read(client, owner.token, system["system_id"]).headers["ETag"] == '"1"'


def test_an_officer_changing_an_online_filed_system_is_409_wrong_channel(
    client: TestClient, runtime: Runtime, system: dict[str, Any]
) -> None:
    officer = police_token(runtime, Role.OFFICER, NANAN)

    response = change(client, officer, system["system_id"], change_body(name="新名称"), '"1"')

    assert_problem(response, 409)
    assert read(client, officer, system["system_id"]).headers["ETag"] == '"1"'


# --- idempotent filing -----------------------------------------------------------------------


def test_retrying_a_filing_with_the_same_key_and_body_returns_the_first_response(
    client: TestClient, owner: UnitAccount
) -> None:
    body = filing_body(owner.uscc)
    first = file_system(client, owner.token, body, **{"Idempotency-Key": "filing-1"})

    retry = file_system(client, owner.token, body, **{"Idempotency-Key": "filing-1"})

    assert first.status_code == 201, first.text
    assert retry.status_code == first.status_code
    assert retry.json() == first.json()
    assert retry.headers["ETag"] == first.headers["ETag"]
    assert retry.headers["Location"] == first.headers["Location"]


def test_retrying_a_filing_with_the_same_key_writes_nothing(
    client: TestClient, owner: UnitAccount
) -> None:
    body = filing_body(owner.uscc)
    file_system(client, owner.token, body, **{"Idempotency-Key": "filing-1"})

    file_system(client, owner.token, body, **{"Idempotency-Key": "filing-1"})

    assert len(list_systems(client, owner.token)["items"]) == 1


def test_a_retry_after_a_change_returns_the_first_response_again(
    client: TestClient, owner: UnitAccount
) -> None:
    body = filing_body(owner.uscc)
    first = file_system(client, owner.token, body, **{"Idempotency-Key": "filing-1"})
    renamed(client, owner, first.json())

    retry = file_system(client, owner.token, body, **{"Idempotency-Key": "filing-1"})

    assert retry.status_code == 201
    assert retry.json() == first.json()


def test_the_same_idempotency_key_with_a_different_body_is_422_and_writes_nothing(
    client: TestClient, owner: UnitAccount
) -> None:
    file_system(client, owner.token, filing_body(owner.uscc), **{"Idempotency-Key": "filing-1"})

    response = file_system(
        client,
        owner.token,
        filing_body(owner.uscc, name="另一个系统"),
        **{"Idempotency-Key": "filing-1"},
    )

    assert_problem(response, 422)
    assert len(list_systems(client, owner.token)["items"]) == 1


# --- cancelling ------------------------------------------------------------------------------


def test_cancelling_returns_200_with_status_cancelled(
    client: TestClient, owner: UnitAccount, system: dict[str, Any]
) -> None:
    response = cancel(client, owner.token, system["system_id"], '"1"')

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    assert response.json()["version"] == 2
    assert response.headers["ETag"] == '"2"'
    assert read(client, owner.token, system["system_id"]).json()["status"] == "cancelled"


def test_a_change_after_cancellation_is_409(
    client: TestClient, owner: UnitAccount, system: dict[str, Any]
) -> None:
    cancel(client, owner.token, system["system_id"], '"1"')

    response = change(client, owner.token, system["system_id"], change_body(name="新名称"), '"2"')

    assert_problem(response, 409)
    assert read(client, owner.token, system["system_id"]).headers["ETag"] == '"2"'


def test_a_second_cancellation_is_409(
    client: TestClient, owner: UnitAccount, system: dict[str, Any]
) -> None:
    cancel(client, owner.token, system["system_id"], '"1"')

    assert_problem(cancel(client, owner.token, system["system_id"], '"2"'), 409)


# --- history ---------------------------------------------------------------------------------


def test_history_lists_filed_changed_cancelled_in_order_with_who_when_and_how(
    client: TestClient, owner: UnitAccount, system: dict[str, Any]
) -> None:
    renamed(client, owner, system)
    cancel(client, owner.token, system["system_id"], '"2"')

    items = system_history(client, owner.token, system["system_id"])

    assert [i["seq"] for i in items] == [1, 2, 3]
    assert [i["type"] for i in items] == ["filed", "changed", "cancelled"]
    for item in items:
        assert item["actor"]["account_id"] == owner.account_id
        assert item["actor"]["role"] == "legal_person"
        assert item["actor"]["name"]
        assert item["channel"] == "online"
        assert datetime.fromisoformat(item["recorded_at"]).tzinfo is not None
        assert item["effective_on"] == today().isoformat()
        assert item["hash"]
        assert "data" in item and "on_behalf_of" in item
    recorded = [datetime.fromisoformat(i["recorded_at"]) for i in items]
    assert recorded == sorted(recorded)
    assert len({i["hash"] for i in items}) == 3


def test_the_history_of_a_change_carries_its_diff(
    client: TestClient, owner: UnitAccount, system: dict[str, Any]
) -> None:
    renamed(client, owner, system)

    items = system_history(client, owner.token, system["system_id"])

    assert items[1]["diff"]["name"] == {
        "old": "南坪商圈视频监控系统",
        "new": "南坪商圈视频监控系统（二期）",
    }


# --- as_of -----------------------------------------------------------------------------------


def test_as_of_an_instant_between_filing_and_change_gives_the_old_state(
    client: TestClient, owner: UnitAccount, system: dict[str, Any]
) -> None:
    renamed(client, owner, system)
    filed_at, changed_at = (
        datetime.fromisoformat(i["recorded_at"])
        for i in system_history(client, owner.token, system["system_id"])
    )
    between = filed_at + (changed_at - filed_at) / 2
    assert filed_at < between < changed_at

    response = read(client, owner.token, system["system_id"], as_of=between.isoformat())

    assert response.status_code == 200, response.text
    assert response.json()["name"] == "南坪商圈视频监控系统"
    assert response.json()["version"] == 1


def test_as_of_accepts_any_offset(
    client: TestClient, owner: UnitAccount, system: dict[str, Any]
) -> None:
    renamed(client, owner, system)
    filed_at, changed_at = (
        datetime.fromisoformat(i["recorded_at"])
        for i in system_history(client, owner.token, system["system_id"])
    )
    between = filed_at + (changed_at - filed_at) / 2
    in_chongqing = between.astimezone(SHANGHAI)
    assert in_chongqing.isoformat().endswith("+08:00")

    response = read(client, owner.token, system["system_id"], as_of=in_chongqing.isoformat())

    assert response.status_code == 200, response.text
    assert response.json()["name"] == "南坪商圈视频监控系统"


def test_as_of_before_the_filing_is_404(
    client: TestClient, owner: UnitAccount, system: dict[str, Any]
) -> None:
    filed_at = datetime.fromisoformat(
        system_history(client, owner.token, system["system_id"])[0]["recorded_at"]
    )

    response = read(
        client,
        owner.token,
        system["system_id"],
        as_of=(filed_at - timedelta(seconds=1)).isoformat(),
    )

    assert_problem(response, 404)


def test_as_of_without_an_offset_is_422(
    client: TestClient, owner: UnitAccount, system: dict[str, Any]
) -> None:
    response = read(client, owner.token, system["system_id"], as_of="2026-01-01T12:00:00")

    assert_problem(response, 422)


# --- scope -----------------------------------------------------------------------------------


def test_another_units_account_reading_the_system_gets_404(
    client: TestClient, system: dict[str, Any]
) -> None:
    stranger = unit_account(client)

    assert_problem(read(client, stranger.token, system["system_id"]), 404)


def test_another_units_account_does_not_list_the_system(
    client: TestClient, system: dict[str, Any]
) -> None:
    stranger = unit_account(client)

    assert list_systems(client, stranger.token)["items"] == []


def test_another_units_account_gets_404_for_its_history(
    client: TestClient, system: dict[str, Any]
) -> None:
    stranger = unit_account(client)

    response = client.get(
        f"/v1/systems/{system['system_id']}/history", headers=auth(stranger.token)
    )

    assert_problem(response, 404)


def test_another_units_account_changing_the_system_gets_404_not_409_or_412(
    client: TestClient, system: dict[str, Any]
) -> None:
    stranger = unit_account(client)

    response = change(client, stranger.token, system["system_id"], change_body(name="x"), '"1"')

    assert_problem(response, 404)


def test_an_officer_of_another_district_gets_404(
    client: TestClient, runtime: Runtime, system: dict[str, Any]
) -> None:
    officer = police_token(runtime, Role.OFFICER, SHAPINGBA)

    assert_problem(read(client, officer, system["system_id"]), 404)
    assert list_systems(client, officer)["items"] == []


def test_an_officer_of_the_systems_district_reads_it(
    client: TestClient, runtime: Runtime, system: dict[str, Any]
) -> None:
    officer = police_token(runtime, Role.OFFICER, NANAN)

    response = read(client, officer, system["system_id"])

    assert response.status_code == 200, response.text
    assert response.json()["filing_number"] == system["filing_number"]
    assert [i["system_id"] for i in list_systems(client, officer)["items"]] == [system["system_id"]]


def test_an_unknown_system_is_404(client: TestClient, owner: UnitAccount) -> None:
    response = read(client, owner.token, "00000000-0000-4000-8000-000000000000")

    assert_problem(response, 404)


def test_list_filters_narrow_the_result(
    client: TestClient, owner: UnitAccount, system: dict[str, Any]
) -> None:
    other = filed(
        client,
        owner,
        name="江南大道停车场监控",
        place_category=2,
        place_type="public_car_park",
        address="重庆市南岸区江南大道8号",
    ).json()
    cancel(client, owner.token, system["system_id"], '"1"')

    def ids(**params: Any) -> list[str]:
        return [i["system_id"] for i in list_systems(client, owner.token, **params)["items"]]

    assert ids(status="cancelled") == [system["system_id"]]
    assert ids(status="filed") == [other["system_id"]]
    assert ids(q="江南大道") == [other["system_id"]]
    assert ids(unit_uscc=owner.uscc, division_code=NANAN, place_category=2) == [
        system["system_id"],
        other["system_id"],
    ]
    assert ids(place_category=1) == []

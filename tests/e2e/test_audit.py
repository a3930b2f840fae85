"""GET /v1/audit: every act in recorded order, filtered, paginated and scoped; nothing personal."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.core.runtime import Runtime
from ledger import codes
from ledger.values import Role
from tests.support.codes import NANAN, SHAPINGBA, make_uscc
from tests.support.http import (
    UnitAccount,
    assert_problem,
    auth,
    change,
    change_body,
    filed,
    open_legal_person,
    police_token,
    register_unit,
    unit_account,
)

ID_BODY = "50010819850612301"
ID_NUMBER = ID_BODY + codes.id_card_check_char(ID_BODY)
PHONE = "13912345678"
PERSONAL = re.compile(rf"{ID_NUMBER}|{PHONE}|{ID_BODY}")


@dataclass
class Two:
    """A unit in 南岸 with a system filed and renamed, and one in 沙坪坝 with a system."""

    nanan: UnitAccount
    nanan_system: str
    shapingba: UnitAccount
    shapingba_system: str


@pytest.fixture
def two(client: TestClient) -> Two:
    nanan = unit_account(client)
    system = filed(client, nanan).json()["system_id"]
    renamed = change(client, nanan.token, system, change_body(name="南坪商圈二期"), '"1"')
    assert renamed.status_code == 200, renamed.text
    shapingba = open_legal_person(client, make_uscc(SHAPINGBA))
    registered = register_unit(client, shapingba.token, shapingba.uscc, division_code=SHAPINGBA)
    assert registered.status_code == 201, registered.text
    other = filed(client, shapingba, division_code=SHAPINGBA, address="重庆市沙坪坝区天星桥1号")
    return Two(nanan, system, shapingba, other.json()["system_id"])


def audit(client: TestClient, token: str, **params: Any) -> dict[str, Any]:
    response = client.get("/v1/audit", params=params, headers=auth(token))
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


def every_item(client: TestClient, token: str, limit: int, cursor: str) -> list[dict[str, Any]]:
    """The items of the page at `cursor` and of every page after it."""
    items: list[dict[str, Any]] = []
    next_cursor: str | None = cursor
    while next_cursor is not None:
        page = audit(client, token, limit=limit, cursor=next_cursor)
        items += page["items"]
        next_cursor = page["next_cursor"]
    return items


def kinds(items: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    return [(i["type"], i["unit_uscc"]) for i in items]


# --- order, shape and pagination -------------------------------------------------------------


def test_an_admin_sees_every_act_in_log_order_with_its_public_ids(
    client: TestClient, runtime: Runtime, two: Two
) -> None:
    admin = police_token(runtime, Role.ADMIN, None)

    items = audit(client, admin, limit=500)["items"]

    positions = [i["position"] for i in items]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    assert len({i["event_id"] for i in items}) == len(items)
    window = [  # an officer opens the unit's legal-person account on its business licence
        ("account_opened", None), ("attachment_uploaded", None), ("account_opened", None),
    ]  # fmt: skip
    assert kinds(items) == [
        *window,
        ("unit_registered", two.nanan.uscc),
        ("filed", two.nanan.uscc),
        ("changed", two.nanan.uscc),
        *window,
        ("unit_registered", two.shapingba.uscc),
        ("filed", two.shapingba.uscc),
        ("account_opened", None),  # the admin's own account
    ]
    change_item = items[5]
    assert change_item["diff"]["name"] == {"old": "南坪商圈视频监控系统", "new": "南坪商圈二期"}
    assert change_item["system_id"] == two.nanan_system
    assert change_item["division_code"] == NANAN
    assert change_item["actor"]["account_id"] == two.nanan.account_id


def test_pages_are_complete_disjoint_and_stable_while_the_ledger_grows(
    client: TestClient, runtime: Runtime, two: Two
) -> None:
    auditor = police_token(runtime, Role.AUDITOR, None)
    whole = audit(client, auditor, limit=500)["items"]

    first = audit(client, auditor, limit=3)
    again = audit(client, auditor, limit=3)
    filed(client, two.nanan)  # a write between pages lands after them, not inside
    rest = every_item(client, auditor, limit=3, cursor=first["next_cursor"])

    assert first == again
    assert first["items"] + rest[: len(whole) - 3] == whole
    assert [i["type"] for i in rest[len(whole) - 3 :]] == ["filed"]


def test_a_cursor_it_did_not_give_out_is_400(client: TestClient, runtime: Runtime) -> None:
    admin = police_token(runtime, Role.ADMIN, None)
    response = client.get("/v1/audit", params={"cursor": "bm9wZQ=="}, headers=auth(admin))
    assert_problem(response, 400)


def test_limit_above_500_is_a_validation_error(client: TestClient, runtime: Runtime) -> None:
    admin = police_token(runtime, Role.ADMIN, None)
    response = client.get("/v1/audit", params={"limit": 501}, headers=auth(admin))
    assert_problem(response, 422)


def test_audit_needs_a_bearer_token(client: TestClient) -> None:
    assert_problem(client.get("/v1/audit"), 401)


def test_a_systems_audit_items_match_its_history(
    client: TestClient, runtime: Runtime, two: Two
) -> None:
    officer = police_token(runtime, Role.OFFICER, NANAN)
    items = audit(client, officer, system_id=two.nanan_system)["items"]
    response = client.get(f"/v1/systems/{two.nanan_system}/history", headers=auth(officer))
    assert response.status_code == 200, response.text
    history = response.json()["items"]

    shared = ("seq", "type", "recorded_at", "effective_on", "actor", "on_behalf_of", "channel",
              "data", "diff")  # fmt: skip
    assert [{k: i[k] for k in shared} for i in items] == [
        {k: h.get(k) for k in shared} for h in history
    ]
    assert [i["type"] for i in items] == ["filed", "changed"]


def test_hash_is_the_chain_views_hash_of_the_same_position(
    client: TestClient, runtime: Runtime, two: Two
) -> None:
    admin = police_token(runtime, Role.ADMIN, None)
    if "chain" not in runtime.slots:  # until the chain view exists, stand in for its table
        assert all(i["hash"] is None for i in audit(client, admin)["items"])
        with runtime.reads.transaction(commit=True) as curs:
            curs.execute(
                "CREATE TABLE chain_links (position bigint PRIMARY KEY, event_id uuid,"
                " hash text, prev_hash text)"
            )
            curs.execute(
                "INSERT INTO chain_links SELECT position, event_id, 'h' || position, NULL"
                " FROM audit_items"
            )
    items = audit(client, admin)["items"]  # waits until the chain view has caught up too
    with runtime.reads.transaction(commit=False) as curs:
        curs.execute("SELECT position, hash FROM chain_links")
        hashes = {row["position"]: row["hash"] for row in curs.fetchall()}

    assert items and all(i["hash"] == hashes[i["position"]] is not None for i in items)


# --- filters ---------------------------------------------------------------------------------


def test_filters_by_actor_unit_and_system(client: TestClient, runtime: Runtime, two: Two) -> None:
    admin = police_token(runtime, Role.ADMIN, None)

    by_actor = audit(client, admin, actor=two.shapingba.account_id)["items"]
    by_unit = audit(client, admin, unit_uscc=two.nanan.uscc)["items"]
    by_system = audit(client, admin, system_id=two.shapingba_system)["items"]

    assert kinds(by_actor) == [
        ("account_opened", None),
        ("unit_registered", two.shapingba.uscc),
        ("filed", two.shapingba.uscc),
    ]
    assert {i["actor"]["account_id"] for i in by_actor} == {two.shapingba.account_id}
    assert kinds(by_unit) == [(t, two.nanan.uscc) for t in ("unit_registered", "filed", "changed")]
    assert [(i["type"], i["system_id"]) for i in by_system] == [("filed", two.shapingba_system)]


def test_from_is_inclusive_and_to_exclusive_on_recorded_at(
    client: TestClient, runtime: Runtime, two: Two
) -> None:
    admin = police_token(runtime, Role.ADMIN, None)
    items = audit(client, admin, limit=500)["items"]
    start, end = items[2]["recorded_at"], items[5]["recorded_at"]

    window = audit(client, admin, **{"from": start, "to": end})["items"]

    def at(item: dict[str, Any]) -> datetime:
        return datetime.fromisoformat(item["recorded_at"])

    expected = [i for i in items if at(items[2]) <= at(i) < at(items[5])]
    assert window == expected
    assert items[2] in window and items[5] not in window and items[1] not in window


def test_an_instant_without_an_offset_is_a_validation_error(
    client: TestClient, runtime: Runtime
) -> None:
    admin = police_token(runtime, Role.ADMIN, None)
    response = client.get("/v1/audit", params={"from": "2025-05-01T00:00:00"}, headers=auth(admin))
    problem = assert_problem(response, 422)
    assert ["query", "from"] in [e["loc"] for e in problem["errors"]]


# --- scope -----------------------------------------------------------------------------------


def test_an_officer_sees_only_its_districts_events(
    client: TestClient, runtime: Runtime, two: Two
) -> None:
    nanan = police_token(runtime, Role.OFFICER, NANAN)
    shapingba = police_token(runtime, Role.OFFICER, SHAPINGBA)

    # The window officer's upload of the business licence is an act in its district.
    assert kinds(audit(client, nanan)["items"]) == [("attachment_uploaded", None)] + [
        (t, two.nanan.uscc) for t in ("unit_registered", "filed", "changed")
    ]
    assert kinds(audit(client, shapingba)["items"]) == [("attachment_uploaded", None)] + [
        (t, two.shapingba.uscc) for t in ("unit_registered", "filed")
    ]


def test_an_officer_of_another_district_gets_nothing_even_when_asking_by_name(
    client: TestClient, runtime: Runtime, two: Two
) -> None:
    officer = police_token(runtime, Role.OFFICER, SHAPINGBA)

    for params in (
        {"unit_uscc": two.nanan.uscc},
        {"system_id": two.nanan_system},
        {"actor": two.nanan.account_id},
    ):
        assert audit(client, officer, **params) == {"items": [], "next_cursor": None}


def test_an_auditor_sees_its_prefix_and_accounts_only_without_one(
    client: TestClient, runtime: Runtime, two: Two
) -> None:
    prefixed = police_token(runtime, Role.AUDITOR, "5001")
    elsewhere = police_token(runtime, Role.AUDITOR, "4401")
    everywhere = police_token(runtime, Role.AUDITOR, None)

    seen = audit(client, prefixed)["items"]

    assert {i["division_code"] for i in seen} == {NANAN, SHAPINGBA}
    assert "account_opened" not in {i["type"] for i in seen}
    assert audit(client, elsewhere)["items"] == []
    assert "account_opened" in {i["type"] for i in audit(client, everywhere)["items"]}


def test_a_unit_account_sees_only_its_own_units_events_and_its_own_acts(
    client: TestClient, two: Two
) -> None:
    items = audit(client, two.nanan.token, limit=500)["items"]

    assert kinds(items) == [
        ("account_opened", None),
        ("unit_registered", two.nanan.uscc),
        ("filed", two.nanan.uscc),
        ("changed", two.nanan.uscc),
    ]
    assert items[0]["actor"]["account_id"] == two.nanan.account_id
    assert audit(client, two.nanan.token, unit_uscc=two.shapingba.uscc)["items"] == []


def test_the_route_answers_503_with_retry_after_while_the_view_lags(
    client: TestClient, runtime: Runtime, two: Two
) -> None:
    admin = police_token(runtime, Role.ADMIN, None)
    runner = runtime.runner("audit")
    assert runner is not None
    runner.stop()
    filed(client, two.nanan)
    runtime.settings_read_wait = 0.2

    response = client.get("/v1/audit", headers=auth(admin))

    assert_problem(response, 503)
    assert response.headers["Retry-After"]


# --- personal data ---------------------------------------------------------------------------


def test_no_id_card_or_phone_number_in_the_audit_or_the_logs(
    client: TestClient, runtime: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    person = client.post("/v1/accounts", json={
        "kind": "person", "name": "王五", "phone": PHONE, "id_number": ID_NUMBER,
    })  # fmt: skip
    assert person.status_code == 201, person.text
    owner = open_legal_person(client)
    registered = register_unit(client, owner.token, owner.uscc, contact_phone=PHONE)
    assert registered.status_code == 201, registered.text
    system = filed(client, owner).json()["system_id"]
    body = change_body(name="新名字")
    body["reason"] = f"联系人王五，电话{PHONE}，身份证{ID_NUMBER}"
    assert change(client, owner.token, system, body, '"1"').status_code == 200
    admin = police_token(runtime, Role.ADMIN, None)
    capsys.readouterr()

    response = client.get("/v1/audit", params={"limit": 500}, headers=auth(admin))

    assert response.status_code == 200, response.text
    logs = capsys.readouterr().err
    assert '"route": "/v1/audit"' in logs  # the request's log line was captured
    assert not PERSONAL.search(response.text)
    assert not PERSONAL.search(logs)
    # ...and the numbers were there to hide: each shows masked.
    for masked in (codes.mask_phone(PHONE), codes.mask_id_card(ID_NUMBER)):
        assert masked in response.text

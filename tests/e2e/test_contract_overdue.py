"""GET /v1/overdue over HTTP: kinds, as_of, pagination and who sees what."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from api.core.runtime import Runtime
from ledger.values import Role
from tests.support.codes import NANAN, SHAPINGBA
from tests.support.http import assert_problem, auth, filed, police_token, today, unit_account


def _late_filing(client: TestClient, days_in_use: int = 60) -> dict[str, object]:
    """A system filed today, put into use `days_in_use` days ago: filed late."""
    account = unit_account(client)
    commissioned = (today() - timedelta(days=days_in_use)).isoformat()
    body: dict[str, object] = filed(client, account, commissioned_on=commissioned).json()
    return body


def _overdue(client: TestClient, token: str, **params: object) -> dict[str, object]:
    response = client.get("/v1/overdue", params=params, headers=auth(token))
    assert response.status_code == 200, response.text
    page: dict[str, object] = response.json()
    return page


def test_officer_sees_a_late_filing_with_its_due_date_and_rules_version(
    client: TestClient, runtime: Runtime
) -> None:
    system = _late_filing(client)
    officer = police_token(runtime, Role.OFFICER, NANAN)
    page = _overdue(client, officer, kind="filed_late")
    items = page["items"]
    assert isinstance(items, list) and len(items) == 1
    item = items[0]
    assert item["system_id"] == system["system_id"]
    assert item["filing_number"] == system["filing_number"]
    assert item["kind"] == "filed_late"
    assert item["due_on"] == system["due_on"]
    assert item["days_overdue"] > 0
    assert item["rules_version"] == system["rules_version"]
    assert system["filed_late"] is True


def test_as_of_before_the_filing_lists_nothing(client: TestClient, runtime: Runtime) -> None:
    _late_filing(client)
    officer = police_token(runtime, Role.OFFICER, NANAN)
    yesterday = (today() - timedelta(days=1)).isoformat()
    assert _overdue(client, officer, as_of=yesterday)["items"] == []


def test_other_district_and_other_prefix_see_nothing(client: TestClient, runtime: Runtime) -> None:
    _late_filing(client)
    elsewhere = police_token(runtime, Role.OFFICER, SHAPINGBA)
    assert _overdue(client, elsewhere)["items"] == []
    assert _overdue(client, elsewhere, division_code=NANAN)["items"] == []
    city = police_token(runtime, Role.AUDITOR, "5001")
    assert len(_overdue(client, city)["items"]) == 1  # type: ignore[arg-type]
    other_city = police_token(runtime, Role.AUDITOR, "5002")
    assert _overdue(client, other_city)["items"] == []


def test_unit_accounts_are_refused_the_police_lists(client: TestClient) -> None:
    account = unit_account(client)
    response = client.get("/v1/overdue", headers=auth(account.token))
    assert_problem(response, 403)


def test_pages_cover_every_item_once(client: TestClient, runtime: Runtime) -> None:
    ids = {str(_late_filing(client, days_in_use=40 + n)["system_id"]) for n in range(3)}
    officer = police_token(runtime, Role.OFFICER, NANAN)
    seen: list[str] = []
    dues: list[str] = []
    cursor = None
    while True:
        params: dict[str, object] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = _overdue(client, officer, **params)
        seen += [str(i["system_id"]) for i in page["items"]]  # type: ignore[attr-defined]
        dues += [str(i["due_on"]) for i in page["items"]]  # type: ignore[attr-defined]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == len(ids)
    assert dues == sorted(dues)  # by due date: the oldest debts first


def test_bad_kind_and_bad_cursor_are_problems(client: TestClient, runtime: Runtime) -> None:
    officer = police_token(runtime, Role.OFFICER, NANAN)
    bad_kind = client.get("/v1/overdue", params={"kind": "late"}, headers=auth(officer))
    assert_problem(bad_kind, 422)
    bad_cursor = client.get("/v1/overdue", params={"cursor": "x"}, headers=auth(officer))
    assert_problem(bad_cursor, 400)


def test_dates_and_instants_in_queries_are_text_never_unix_times(
    client: TestClient, runtime: Runtime
) -> None:
    """pydantic reads a bare number as a Unix time; the contract's dates are ISO text."""
    system = _late_filing(client)
    officer = police_token(runtime, Role.OFFICER, NANAN)
    for path, params in (
        ("/v1/overdue", {"as_of": "86400"}),
        (f"/v1/systems/{system['system_id']}", {"as_of": "8916466355"}),
        ("/v1/audit", {"from": "0"}),
    ):
        response = client.get(path, params=params, headers=auth(officer))
        assert_problem(response, 422)

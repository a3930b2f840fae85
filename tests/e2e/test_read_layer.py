"""The read layer (api/queries): every list refuses a cursor it did not give out with a 400
naming `cursor` (never a 500), and every read asks the one access rule, so an officer
without a district sees nothing anywhere while an admin sees everything."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.core.runtime import Runtime
from api.identity.tokens import new_token
from ledger.accounts import Account, Credential
from ledger.values import Role
from tests.support.codes import NANAN
from tests.support.http import (
    assert_problem,
    auth,
    filed,
    names_field,
    police_token,
    today,
    unit_account,
)
from tests.support.pages import log_in

# Malformed cursors: not base64, base64 of nonsense, an unsigned position, too long, a
# signature-shaped string that verifies nothing.
MALFORMED = [
    "x",
    "!!!",
    base64.urlsafe_b64encode(b"nope").decode(),
    base64.urlsafe_b64encode(json.dumps([1]).encode()).decode(),
    "W10.forged-signature",
    "a" * 600,
]
LISTS = {
    "/v1/systems": {},
    "/v1/audit": {},
    "/v1/overdue": {"kind": "filed_late"},
}


@pytest.fixture
def admin(runtime: Runtime) -> str:
    return police_token(runtime, Role.ADMIN, None, name="管理员")


@pytest.fixture
def officer(runtime: Runtime) -> str:
    return police_token(runtime, Role.OFFICER, NANAN, name="南岸民警")


@pytest.fixture
def late(client: TestClient) -> dict[str, Any]:
    """Two systems filed late in 南岸: two items on every list, so each has a next page."""
    commissioned = (today() - timedelta(days=365)).isoformat()
    first = filed(client, unit_account(client), commissioned_on=commissioned)
    second = filed(client, unit_account(client), commissioned_on=commissioned)
    assert first.status_code == 201 and second.status_code == 201, second.text
    system: dict[str, Any] = first.json()
    return system


def next_cursor(client: TestClient, path: str, token: str) -> str:
    page = client.get(path, params={"limit": 1, **LISTS[path]}, headers=auth(token))
    assert page.status_code == 200, page.text
    cursor = page.json()["next_cursor"]
    assert isinstance(cursor, str) and cursor
    return cursor


@pytest.mark.parametrize("path", sorted(LISTS))
def test_a_malformed_or_foreign_cursor_is_a_400_naming_the_cursor(
    client: TestClient, late: dict[str, Any], officer: str, path: str
) -> None:
    foreign = [next_cursor(client, other, officer) for other in LISTS if other != path]
    for cursor in [*MALFORMED, *foreign]:
        answer = client.get(path, params={"cursor": cursor, **LISTS[path]}, headers=auth(officer))
        problem = assert_problem(answer, 400)
        assert names_field(problem, "query", "cursor"), (path, cursor, problem)
    # Its own cursor reads the next page.
    own = next_cursor(client, path, officer)
    page = client.get(
        path, params={"cursor": own, "limit": 1, **LISTS[path]}, headers=auth(officer)
    )
    assert page.status_code == 200, page.text
    assert len(page.json()["items"]) == 1


def test_the_units_list_has_no_cursor_and_ignores_one(
    client: TestClient, late: dict[str, Any], officer: str
) -> None:
    for cursor in MALFORMED[:3]:
        answer = client.get("/v1/units", params={"cursor": cursor}, headers=auth(officer))
        assert answer.status_code == 200, answer.text
        assert answer.json()["items"], "the officer's district has units"


@pytest.mark.parametrize("after", ["x", "-1", "1.5", ""])
def test_a_malformed_feed_position_is_a_422_naming_after_never_a_500(
    client: TestClient, late: dict[str, Any], officer: str, after: str
) -> None:
    answer = client.get("/v1/feed", params={"after": after}, headers=auth(officer))
    problem = assert_problem(answer, 422)
    assert names_field(problem, "query", "after"), problem


def test_a_feed_position_past_the_head_is_an_empty_feed(
    client: TestClient, late: dict[str, Any], officer: str
) -> None:
    answer = client.get("/v1/feed", params={"after": "9" * 40}, headers=auth(officer))
    assert answer.status_code == 200, answer.text
    assert answer.text == ""


def test_the_pages_lists_refuse_a_malformed_cursor_with_a_400_page(
    client: TestClient, late: dict[str, Any], officer: str
) -> None:
    pages = TestClient(client.app, follow_redirects=False)
    log_in(pages, officer)
    unit = late["unit_uscc"]
    for path, params in (
        ("/officer/systems", {}),
        ("/officer/overdue", {"kind": "filed_late"}),
        (f"/officer/units/{unit}", {}),
    ):
        assert pages.get(path, params=params).status_code == 200, path
        for cursor in MALFORMED[:5]:
            answer = pages.get(path, params={**params, "cursor": cursor})
            assert answer.status_code == 400, (path, cursor, answer.status_code)
            assert answer.headers["content-type"].startswith("text/html")


def lists_of(client: TestClient, token: str) -> dict[str, int]:
    """How many items each read in scope gives this caller."""
    counts: dict[str, int] = {}
    for path in ("/v1/systems", "/v1/units", "/v1/audit", "/v1/overdue"):
        answer = client.get(path, headers=auth(token))
        assert answer.status_code == 200, (path, answer.text)
        counts[path] = len(answer.json()["items"])
    feed = client.get("/v1/feed", headers=auth(token))
    assert feed.status_code == 200, feed.text
    counts["/v1/feed"] = len([line for line in feed.text.splitlines() if line.strip()])
    for what in ("systems", "overdue"):
        export = client.get(f"/v1/{what}/export", params={"format": "csv"}, headers=auth(token))
        assert export.status_code == 200, (what, export.text)
        counts[f"/v1/{what}/export"] = len(export.content.decode("utf-8-sig").splitlines()) - 1
    return counts


def officer_without_a_district(runtime: Runtime) -> str:
    """Saved straight into the log, as an older version could leave one (the commands refuse
    to open it)."""
    token, digest = new_token()
    account = Account.open(role=Role.OFFICER, name="无辖区民警")
    credential = Credential.issue(token_sha256=digest, account_id=account.id, expires_at=None)
    runtime.ledger.save(account, credential)
    return token


def test_an_officer_without_a_district_reads_nothing_anywhere(
    client: TestClient, runtime: Runtime, late: dict[str, Any], admin: str, officer: str
) -> None:
    nowhere = officer_without_a_district(runtime)
    assert lists_of(client, nowhere) == dict.fromkeys(lists_of(client, admin), 0)
    assert all(lists_of(client, admin).values())
    assert all(lists_of(client, officer).values())
    system = late["system_id"]
    for path in (f"/v1/systems/{system}", f"/v1/systems/{system}/history"):
        assert_problem(client.get(path, headers=auth(nowhere)), 404)
        assert client.get(path, headers=auth(officer)).status_code == 200
    assert_problem(client.get(f"/v1/units/{late['unit_uscc']}", headers=auth(nowhere)), 404)

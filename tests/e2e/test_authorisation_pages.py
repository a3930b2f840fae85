"""The officer pages (/officer/...) in the authorisation matrix: a session comes from signing
in with a police-side token; without one every page sends the browser to the login page (303)
and every form is refused. With one, a page about a system or unit outside the account's reach
is 404, as on the API; a form needs the session's CSRF token."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.e2e.test_authorisation_matrix import (
    MARK,
    OFFICERS,
    SEES,
    World,
    world_of,
)
from tests.support.pages import CSRF

A, B = "A", "B"
# The API matrix's principals, impostors included: an officer without a district and an
# auditor with a city's prefix sign in; a unit's account, one that only claimed a USCC, and
# expired, rotated and revoked police tokens are refused at the sign-in.
PAGE_ROLES = (
    "officer_a", "officer_b", "auditor_a", "auditor_cq", "auditor_x", "admin", "officer_none",
    "unit_a", "claimant_a", "expired", "rotated", "revoked", "anonymous",
)  # fmt: skip
POLICE = {"officer_a", "officer_b", "auditor_a", "auditor_cq", "auditor_x", "admin", "officer_none"}

Url = Callable[[World, str], str]
Expect = Callable[[str, str], int]
PageCase = tuple[Url, Expect, tuple[str, ...]]


def _seen(role: str, obj: str) -> int:
    return 200 if obj in SEES[role] else 404


def _all(status: int) -> Expect:
    return lambda role, obj: status


def _officers_only(role: str, obj: str) -> int:
    return 200 if role in OFFICERS else 403


def _fixed(path: str) -> Url:
    return lambda world, obj: path


GET_PAGES: dict[str, PageCase] = {
    "/officer/": (_fixed("/officer/"), _all(200), ("-",)),
    "/officer/systems": (_fixed("/officer/systems"), _all(200), ("-",)),
    "/officer/overdue": (_fixed("/officer/overdue?kind=unfiled"), _all(200), ("-",)),
    "/officer/systems/export": (_fixed("/officer/systems/export?format=csv"), _all(200), ("-",)),
    "/officer/overdue/export": (_fixed("/officer/overdue/export?format=csv"), _all(200), ("-",)),
    "/officer/filings/new": (_fixed("/officer/filings/new"), _officers_only, ("-",)),
    "/officer/filings/device-sheet-template": (
        _fixed("/officer/filings/device-sheet-template"), _all(200), ("-",)),
    "/officer/systems/{system_id}": (
        lambda w, o: f"/officer/systems/{w.systems[o]}", _seen, (A, B)),
    "/officer/units/{uscc}": (lambda w, o: f"/officer/units/{w.units[o]}", _seen, (A, B)),
}  # fmt: skip
POST_FORMS: dict[str, Url] = {
    "/officer/filings": _fixed("/officer/filings"),
    "/officer/systems/{system_id}/correction-orders": (
        lambda w, o: f"/officer/systems/{w.systems[o]}/correction-orders"),
    "/officer/systems/{system_id}/inspections": (
        lambda w, o: f"/officer/systems/{w.systems[o]}/inspections"),
    "/officer/logout": _fixed("/officer/logout"),
    "/officer/units/{uscc}/verification": (
        lambda w, o: f"/officer/units/{w.units[A]}/verification"),
}  # fmt: skip
# Covered by the sign-in below (every role) and by the static test.
OTHERS = {("GET", "/officer/login"), ("POST", "/officer/login"), ("GET", "/officer/static/{path}"),
          ("GET", "/")}  # fmt: skip
PAGE_ROUTES = {("GET", p) for p in GET_PAGES} | {("POST", p) for p in POST_FORMS} | OTHERS
SCOPED_PAGES = {"/officer/systems", "/officer/overdue", "/officer/systems/export",
                "/officer/overdue/export", "/officer/"}  # fmt: skip


def _sign_in(client: TestClient, token: str | None) -> tuple[int, str]:
    """Signs in with `token`; (status of the sign-in, the session's CSRF token)."""
    page = client.get("/officer/login")
    assert page.status_code == 200
    csrf = CSRF.search(page.text)
    assert csrf is not None
    if token is None:
        return 0, csrf.group(1)
    answer = client.post(
        "/officer/login",
        data={"token": token, "csrf_token": csrf.group(1), "next": "/officer/"},
        follow_redirects=False,
    )
    signed_in = client.get("/officer/", follow_redirects=False)
    after = CSRF.search(signed_in.text)
    return answer.status_code, after.group(1) if after else csrf.group(1)


def test_every_page_with_every_role(client: TestClient, runtime: object) -> None:
    world = world_of(client, runtime)  # type: ignore[arg-type]
    wrong: list[str] = []
    for role in PAGE_ROLES:
        pages = TestClient(client.app, follow_redirects=False)
        status, csrf = _sign_in(pages, None if role == "anonymous" else world.tokens[role])
        signed_in = role in POLICE
        if role != "anonymous" and status != (303 if signed_in else 401):
            wrong.append(f"sign-in of {role}: {status}")
        for path, (url, expect, objects) in GET_PAGES.items():
            for obj in objects:
                answer = pages.get(url(world, obj))
                want = expect(role, obj) if signed_in else 303
                if answer.status_code != want:
                    wrong.append(f"GET {path} {role} on {obj}: {answer.status_code} != {want}")
                elif path in SCOPED_PAGES and answer.status_code == 200:
                    for other in (A, B):
                        if other not in SEES[role] and MARK[other] in answer.text:
                            wrong.append(f"GET {path} {role} sees {other}'s system")
        for path, url in POST_FORMS.items():
            for obj in (A, B) if "{system_id}" in path else ("-",):
                forged = pages.post(url(world, obj), data={"csrf_token": "forged"})
                if forged.status_code not in (303, 403):  # no session: to the login page
                    wrong.append(f"POST {path} {role} forged CSRF: {forged.status_code}")
        if signed_in:  # and a real form answers only where the account reaches
            for obj in (A, B):
                form = f"/officer/systems/{world.systems[obj]}/inspections"
                answer = pages.post(form, data={"csrf_token": csrf, "inspected_on": "", "note": ""})
                reach = obj in SEES[role]
                if (answer.status_code == 404) == reach:
                    wrong.append(f"POST inspections {role} on {obj}: {answer.status_code}")
    assert wrong == [], "\n".join(wrong)


def test_static_files_need_no_session(client: TestClient) -> None:
    page = client.get("/officer/login")
    assets = re.findall(r'(?:src|href)="(/officer/static/[^"]+)"', page.text)
    assert assets
    for asset in assets:
        assert client.get(asset).status_code == 200

"""Hardening over HTTP: signed cursors, security headers on 500s, what `/readyz` tells whom,
and the caps on feed followers, chain verifications and exports."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from api.app import create_app
from api.core.runtime import Runtime
from api.core.settings import Settings
from api.middleware.concurrency import Slots
from api.middleware.headers import HEADERS
from api.routes import exports as export_routes
from api.routes import ledger as ledger_routes
from ledger.values import Role
from tests.e2e.test_officer_sessions import log_in
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

HEARTBEAT = 0.2


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Heartbeats every 0.2 s, so a follower notices soon that its client went away."""
    return settings.model_copy(update={"feed_heartbeat_seconds": HEARTBEAT})


@pytest.fixture
def officer(runtime: Runtime) -> str:
    return police_token(runtime, Role.OFFICER, NANAN, name="李警官")


def b64(value: Any) -> str:
    """What an unsigned cursor looked like: URL-safe base64 of some JSON or text."""
    raw = value.encode() if isinstance(value, str) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def edited(cursor: str, position: Any) -> str:
    """`cursor` with its position replaced and its signature kept."""
    _, signature = cursor.rsplit(".", 1)
    return f"{b64(position)}.{signature}"


def late_filing(client: TestClient, days_in_use: int) -> None:
    commissioned = (today() - timedelta(days=days_in_use)).isoformat()
    filed(client, unit_account(client), commissioned_on=commissioned)


def next_cursor(client: TestClient, path: str, token: str, **params: Any) -> str:
    response = client.get(path, params={"limit": 1, **params}, headers=auth(token))
    assert response.status_code == 200, response.text
    cursor = response.json()["next_cursor"]
    assert isinstance(cursor, str) and cursor
    return cursor


def assert_bad_cursor(response: Response) -> None:
    problem = assert_problem(response, 400)
    assert names_field(problem, "query", "cursor"), problem


# --- signed cursors --------------------------------------------------------------------------


@pytest.fixture
def cursors(client: TestClient, admin: str, officer: str) -> dict[str, str]:
    """A real next-page cursor of each list: two late filings in Nanan give two of each."""
    late_filing(client, 60)
    late_filing(client, 45)
    return {
        "/v1/systems": next_cursor(client, "/v1/systems", officer),
        "/v1/audit": next_cursor(client, "/v1/audit", admin),
        "/v1/overdue": next_cursor(client, "/v1/overdue", officer, kind="filed_late"),
    }


FORGED = {
    # Unsigned cursors as they were given out before, and hand-made ones.
    "/v1/systems": [b64("1"), b64([1]), "x", b64("audit:1")],
    "/v1/audit": [b64("audit:1"), b64([1]), "x", "bm9wZQ=="],
    # The hand-made cursor that used to be a 500: a position that is not a day.
    "/v1/overdue": [b64(["not-a-day", "x"]), b64(["2025-05-01", "x"]), b64([1, 2]), "x"],
}
EDITED = {"/v1/systems": [0], "/v1/audit": [0], "/v1/overdue": ["2000-01-01", "x"]}


@pytest.mark.parametrize("path", sorted(FORGED))
def test_a_forged_or_edited_cursor_is_400_naming_the_cursor_parameter(
    client: TestClient, cursors: dict[str, str], admin: str, path: str
) -> None:
    # The real cursor reads the next page.
    given = client.get(path, params={"limit": 1, "cursor": cursors[path]}, headers=auth(admin))
    assert given.status_code == 200, given.text
    assert len(given.json()["items"]) == 1

    others = [cursor for other, cursor in cursors.items() if other != path]
    for cursor in [*FORGED[path], edited(cursors[path], EDITED[path]), *others]:
        answer = client.get(path, params={"cursor": cursor}, headers=auth(admin))
        assert_bad_cursor(answer)
    # A signed cursor with its signature changed (not in its last character: base64's spare
    # bits there may decode to the same bytes).
    at = len(cursors[path]) - 5
    flipped = (
        cursors[path][:at] + ("A" if cursors[path][at] != "A" else "B") + cursors[path][at + 1 :]
    )
    assert_bad_cursor(client.get(path, params={"cursor": flipped}, headers=auth(admin)))
    assert_bad_cursor(client.get(path, params={"cursor": "a" * 5000}, headers=auth(admin)))


def test_the_pages_lists_take_the_same_signed_cursors_and_refuse_forged_ones(
    client: TestClient, cursors: dict[str, str], officer: str
) -> None:
    pages = TestClient(client.app, follow_redirects=False)
    log_in(pages, officer)
    lists = {
        "/officer/systems": ({}, cursors["/v1/systems"], "/v1/systems"),
        "/officer/overdue": ({"kind": "filed_late"}, cursors["/v1/overdue"], "/v1/overdue"),
    }
    for page, (params, good, api) in lists.items():
        assert pages.get(page, params={**params, "cursor": good}).status_code == 200, page
        for cursor in [*FORGED[api], edited(good, EDITED[api])]:
            answer = pages.get(page, params={**params, "cursor": cursor})
            assert answer.status_code == 400, (page, cursor, answer.status_code)
            assert answer.headers["content-type"].startswith("text/html")
    audit_cursor = cursors["/v1/audit"]
    assert pages.get("/officer/systems", params={"cursor": audit_cursor}).status_code == 400


# --- security headers on 500s ----------------------------------------------------------------


def test_an_unexpected_error_is_a_500_problem_with_the_security_headers(
    settings: Settings, runtime: Runtime
) -> None:
    app = create_app(settings, runtime=runtime)

    def boom() -> None:
        raise RuntimeError("an error no route expects")

    app.add_api_route("/v1/test-only/boom", boom)  # mounted in this test's app only
    app.add_api_route("/test-only/boom", boom)
    with TestClient(app, raise_server_exceptions=False) as client:
        for path in ("/v1/test-only/boom", "/test-only/boom"):
            response = client.get(path, headers={"X-Request-ID": "hardening-1"})
            problem = assert_problem(response, 500)
            assert "no route expects" not in problem["detail"]
            for name, value in HEADERS.items():
                assert response.headers[name] == value, (path, name)
            assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
            assert response.headers["X-Request-ID"] == "hardening-1"
        assert response.headers.get("Cache-Control") is None  # only /v1 answers are private
        private = client.get("/v1/test-only/boom")
        assert private.headers["Cache-Control"] == "no-store"


# --- /readyz ---------------------------------------------------------------------------------


def test_readyz_tells_the_public_only_ok_or_degraded_and_an_admin_the_details(
    client: TestClient, runtime: Runtime, admin: str, officer: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    public = client.get("/readyz")
    assert (public.status_code, public.json()) == (200, {"status": "ok"})
    assert client.get("/readyz", headers=auth(officer)).json() == {"status": "ok"}
    detailed = client.get("/readyz", headers=auth(admin))
    assert detailed.status_code == 200
    assert detailed.json()["status"] == "ok"
    assert {"head", "views"} <= set(detailed.json())
    assert all({"lag", "error"} <= set(view) for view in detailed.json()["views"])

    failing = [{**view, "error": "ValueError: secret detail"} for view in runtime.health()]
    monkeypatch.setattr(runtime, "health", lambda: failing)
    public = client.get("/readyz")
    assert (public.status_code, public.json()) == (503, {"status": "degraded"})
    assert "secret" not in public.text
    detailed = client.get("/readyz", headers=auth(admin))
    assert detailed.status_code == 503 and "secret detail" in detailed.text

    def down() -> list[dict[str, Any]]:
        raise RuntimeError("connection to host=10.0.0.9 user=ledger failed")

    monkeypatch.setattr(runtime, "health", down)
    public = client.get("/readyz")
    assert (public.status_code, public.json()) == (503, {"status": "degraded"})
    assert public.headers["Retry-After"]
    assert "10.0.0.9" not in public.text and "RuntimeError" not in public.text
    detailed = client.get("/readyz", headers=auth(admin))
    assert detailed.status_code == 503 and "RuntimeError" in detailed.json()["database"]
    # Any other token gets the public answer: readiness stays public.
    unknown = client.get("/readyz", headers=auth("psvs_not-a-token"))
    assert (unknown.status_code, unknown.json()) == (503, {"status": "degraded"})


# --- feed followers --------------------------------------------------------------------------


def slots(app: Any, name: str) -> Slots:
    found: Slots = getattr(app.state, f"slots_{name}")
    return found


def wait_until(check: Callable[[], bool], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_token_has_at_most_four_followers_the_fifth_is_429(
    client: TestClient, admin: str, officer: str
) -> None:
    follow = {"follow": "true"}
    with ExitStack() as stack:
        for _ in range(4):
            stream = stack.enter_context(
                client.stream("GET", "/v1/feed", params=follow, headers=auth(admin))
            )
            assert stream.status_code == 200
            next(stream.iter_lines())  # the first heartbeat: it follows
        fifth = client.get("/v1/feed", params=follow, headers=auth(admin))
        problem = assert_problem(fifth, 429)
        assert int(fifth.headers["Retry-After"]) >= 1, problem
        # Another token, and the same token without follow, are not held back.
        with client.stream("GET", "/v1/feed", params=follow, headers=auth(officer)) as other:
            assert other.status_code == 200
        assert client.get("/v1/feed", headers=auth(admin)).status_code == 200

    # The followers went away: their slots are free again.
    followers = slots(client.app, "feed_followers")
    wait_until(lambda: followers.held() == 0)
    with client.stream("GET", "/v1/feed", params=follow, headers=auth(admin)) as again:
        assert again.status_code == 200


# --- verifications and exports ---------------------------------------------------------------


class Gate:
    """Makes `target` wait until `open` is called; counts who is waiting."""

    def __init__(self, target: Callable[..., Any]) -> None:
        self.target = target
        self.opened = threading.Event()
        self.waiting = 0
        self._lock = threading.Lock()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            self.waiting += 1
        assert self.opened.wait(30), "the gate was never opened"
        return self.target(*args, **kwargs)


@pytest.fixture
def in_background() -> Iterator[Callable[[Callable[[], Response]], list[Response]]]:
    threads: list[threading.Thread] = []

    def start(call: Callable[[], Response]) -> list[Response]:
        answers: list[Response] = []
        thread = threading.Thread(target=lambda: answers.append(call()))
        thread.start()
        threads.append(thread)
        return answers

    yield start
    for thread in threads:
        thread.join(30)


def test_one_verification_at_a_time_per_account_and_two_in_all(
    client: TestClient,
    runtime: Runtime,
    admin: str,
    monkeypatch: pytest.MonkeyPatch,
    in_background: Callable[[Callable[[], Response]], list[Response]],
) -> None:
    gate = Gate(ledger_routes.verify)  # type: ignore[attr-defined]  # patched where the route calls it
    monkeypatch.setattr(ledger_routes, "verify", gate)
    auditor = police_token(runtime, Role.AUDITOR, None, name="审计员")
    third = police_token(runtime, Role.ADMIN, None, name="另一管理员")

    def verify(token: str) -> Callable[[], Response]:
        return lambda: client.get("/v1/ledger/verification", headers=auth(token))

    try:
        first = in_background(verify(admin))
        wait_until(lambda: gate.waiting == 1)
        again = verify(admin)()
        assert_problem(again, 429)
        assert again.headers["Retry-After"]
        second = in_background(verify(auditor))  # another account may run one
        wait_until(lambda: gate.waiting == 2)
        assert_problem(verify(third)(), 429)  # but no more than two run at once
    finally:
        gate.opened.set()
    wait_until(lambda: bool(first) and bool(second))
    assert first[0].status_code == 200 and first[0].json()["verified"] is True
    assert second[0].status_code == 200
    assert verify(admin)().status_code == 200  # done: the account may verify again


def test_an_account_runs_at_most_two_exports_at_once(
    client: TestClient,
    runtime: Runtime,
    officer: str,
    monkeypatch: pytest.MonkeyPatch,
    in_background: Callable[[Callable[[], Response]], list[Response]],
) -> None:
    gate = Gate(export_routes.all_systems)
    monkeypatch.setattr(export_routes, "all_systems", gate)
    colleague = police_token(runtime, Role.OFFICER, NANAN, name="王警官")

    def export(token: str) -> Callable[[], Response]:
        params = {"format": "csv"}
        return lambda: client.get("/v1/systems/export", params=params, headers=auth(token))

    try:
        running = [in_background(export(officer)) for _ in range(2)]
        wait_until(lambda: gate.waiting == 2)
        third = export(officer)()
        assert_problem(third, 429)
        assert third.headers["Retry-After"]
        overdue = client.get("/v1/overdue/export", params={"format": "csv"}, headers=auth(officer))
        assert_problem(overdue, 429)  # the cap counts every export of the account
        other = in_background(export(colleague))  # another account is not held back
        wait_until(lambda: gate.waiting == 3)
    finally:
        gate.opened.set()
    wait_until(lambda: all(running) and bool(other))
    assert [answer[0].status_code for answer in [*running, other]] == [200, 200, 200]
    assert export(officer)().status_code == 200


def test_the_caps_default_to_four_followers_two_verifications_and_two_exports() -> None:
    defaults = Settings(database_url="postgresql://unused/db")
    assert defaults.feed_followers_per_token == 4
    assert (defaults.verifications_at_once, defaults.exports_per_account) == (2, 2)

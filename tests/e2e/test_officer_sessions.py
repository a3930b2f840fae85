"""Officer page sessions live in PostgreSQL: signing out ends the row, so the old cookie,
replayed, is refused; an idle session (30 minutes) and an old one (8 hours) end on their next
request; a disabled account's session stops at once. Time is moved by moving the row's
timestamps back in the database, never by sleeping."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from itsdangerous import URLSafeTimedSerializer

from api.core.runtime import Runtime
from api.core.secrets import session_key
from api.core.settings import Settings
from api.web import site
from api.web.sessions import COOKIE
from ledger.accounts import Account
from ledger.values import Role
from tests.support.codes import NANAN
from tests.support.http import police_token
from tests.support.logs import security_lines
from tests.support.pages import csrf_of
from tests.support.pages import log_in as sign_in


def log_in(client: TestClient, token: str) -> str:
    """Signs in (as the pages' tests do); the session cookie's value."""
    sign_in(client, token)
    cookie = client.cookies.get(COOKIE)
    assert cookie
    return str(cookie)


def rows(runtime: Runtime) -> list[dict[str, Any]]:
    with runtime.reads.transaction(commit=False) as curs:
        curs.execute("SELECT * FROM officer_sessions ORDER BY created_at")
        return [dict(row) for row in curs.fetchall()]


def move_back(runtime: Runtime, column: str, interval: str) -> None:
    """Ages every session: `column` (last_seen_at or created_at) goes back by `interval`."""
    assert column in ("last_seen_at", "created_at")
    with runtime.reads.transaction(commit=True) as curs:
        curs.execute(
            f"UPDATE officer_sessions SET {column} = {column} - %s::interval",
            (interval,),
        )


@pytest.fixture
def officer(runtime: Runtime) -> str:
    return police_token(runtime, Role.OFFICER, NANAN, name="李警官")


@pytest.fixture
def pages(client: TestClient) -> Iterator[TestClient]:
    """A browser of its own (no redirects followed) on the running app."""
    yield TestClient(client.app, follow_redirects=False)


def refused(response: Any) -> bool:
    """Sent to the login page, as a visitor without a session is."""
    return bool(
        response.status_code == 303
        and response.headers["location"].startswith("/officer/login?next=")
    )


def test_logout_ends_the_row_and_the_old_cookie_replayed_is_refused(
    pages: TestClient, runtime: Runtime, officer: str, capsys: pytest.CaptureFixture[str]
) -> None:
    cookie = log_in(pages, officer)
    home = pages.get("/officer/")
    assert home.status_code == 200
    csrf = csrf_of(home.text)

    out = pages.post("/officer/logout", data={"csrf_token": csrf})
    assert out.status_code == 303

    thief = TestClient(pages.app, follow_redirects=False)
    thief.cookies.set(COOKIE, cookie, path="/officer")
    assert refused(thief.get("/officer/"))
    assert refused(thief.get("/officer/systems"))
    # A form posted with the copied cookie and its CSRF token is refused too.
    assert refused(
        thief.post(
            "/officer/systems/00000000-0000-0000-0000-000000000000/inspections",
            data={"csrf_token": csrf, "inspected_on": "", "note": ""},
        )
    )
    [row] = rows(runtime)
    assert row["ended_reason"] == "logout" and row["ended_at"] is not None
    events = [(e["event"], e.get("account_id")) for e in security_lines(capsys.readouterr().err)]
    assert ("sign_in", row["account_id"]) in events
    assert ("sign_out", row["account_id"]) in events


def test_the_cookie_holds_a_random_session_id_and_the_table_only_its_sha256(
    pages: TestClient, runtime: Runtime, settings: Settings, officer: str
) -> None:
    cookie = log_in(pages, officer)

    serializer = URLSafeTimedSerializer(session_key(settings), salt="psvs-ledger officer session")
    data = serializer.loads(cookie)
    [row] = rows(runtime)
    assert set(data) == {"csrf", "sid"}
    assert row["session_id"] == hashlib.sha256(data["sid"].encode()).hexdigest()
    assert data["sid"] not in json.dumps(rows(runtime), default=str)
    assert officer not in cookie and row["account_id"] not in json.dumps(data)


def test_a_session_idle_longer_than_the_limit_is_ended_as_idle(
    pages: TestClient, runtime: Runtime, officer: str, capsys: pytest.CaptureFixture[str]
) -> None:
    log_in(pages, officer)
    assert pages.get("/officer/").status_code == 200

    move_back(runtime, "last_seen_at", "31 minutes")

    assert refused(pages.get("/officer/"))
    [row] = rows(runtime)
    assert row["ended_reason"] == "idle"
    ended = [e for e in security_lines(capsys.readouterr().err) if e["event"] == "session_ended"]
    assert [(e["reason"], e["account_id"]) for e in ended] == [("idle", row["account_id"])]
    move_back(runtime, "last_seen_at", "-31 minutes")  # seen again just now: still ended
    assert refused(pages.get("/officer/"))


def test_a_session_used_within_the_idle_limit_lives_on_and_is_seen_again(
    pages: TestClient, runtime: Runtime, officer: str
) -> None:
    log_in(pages, officer)
    move_back(runtime, "last_seen_at", "29 minutes")

    assert pages.get("/officer/").status_code == 200

    [row] = rows(runtime)
    assert row["ended_at"] is None
    with runtime.reads.transaction(commit=False) as curs:
        curs.execute(
            "SELECT now() - last_seen_at < interval '1 minute' AS fresh FROM officer_sessions"
        )
        assert curs.fetchone()["fresh"]  # type: ignore[index]


def test_last_seen_is_written_at_most_once_a_minute(
    pages: TestClient, runtime: Runtime, officer: str
) -> None:
    log_in(pages, officer)
    move_back(runtime, "last_seen_at", "30 seconds")
    before = rows(runtime)[0]["last_seen_at"]

    assert pages.get("/officer/").status_code == 200
    assert pages.get("/officer/systems").status_code == 200

    assert rows(runtime)[0]["last_seen_at"] == before


def test_a_session_older_than_the_absolute_limit_is_ended_as_expired(
    pages: TestClient, runtime: Runtime, officer: str, capsys: pytest.CaptureFixture[str]
) -> None:
    log_in(pages, officer)
    move_back(runtime, "created_at", "8 hours 1 minute")  # though seen just now

    assert refused(pages.get("/officer/"))

    [row] = rows(runtime)
    assert row["ended_reason"] == "expired"
    ended = [e for e in security_lines(capsys.readouterr().err) if e["event"] == "session_ended"]
    assert [e["reason"] for e in ended] == ["expired"]


def test_the_limits_come_from_the_settings(
    settings: Settings, runtime: Runtime, officer: str
) -> None:
    from api.app import create_app

    short = settings.model_copy(update={"officer_idle_minutes": 5, "officer_session_hours": 1})
    with TestClient(create_app(short, runtime=runtime), follow_redirects=False) as pages:
        log_in(pages, officer)
        move_back(runtime, "last_seen_at", "6 minutes")
        assert refused(pages.get("/officer/"))
        log_in(pages, officer)
        move_back(runtime, "created_at", "61 minutes")
        assert refused(pages.get("/officer/"))
    assert [r["ended_reason"] for r in rows(runtime)] == ["idle", "expired"]


def test_a_new_login_on_the_same_browser_ends_the_session_before_it(
    pages: TestClient, runtime: Runtime, officer: str
) -> None:
    first = log_in(pages, officer)
    log_in(pages, officer)

    assert pages.get("/officer/").status_code == 200
    assert [r["ended_reason"] for r in rows(runtime)] == ["replaced", None]
    replay = TestClient(pages.app, follow_redirects=False)
    replay.cookies.set(COOKIE, first, path="/officer")
    assert refused(replay.get("/officer/"))


def test_a_disabled_accounts_session_stops_at_its_next_request(
    pages: TestClient, runtime: Runtime, officer: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    log_in(pages, officer)
    assert pages.get("/officer/").status_code == 200
    real = site.load_account

    def disabled(rt: Runtime, account_id: str) -> Account | None:
        account = real(rt, account_id)
        if account is not None:
            account.disabled = True  # what the ledger's disabling sets
        return account

    monkeypatch.setattr(site, "load_account", disabled)

    assert refused(pages.get("/officer/"))
    assert [r["ended_reason"] for r in rows(runtime)] == ["account_disabled"]
    monkeypatch.setattr(site, "load_account", real)  # enabled again: that session stays ended
    assert refused(pages.get("/officer/"))


def test_a_session_begun_before_the_accounts_tokens_were_revoked_stops(
    pages: TestClient, runtime: Runtime, officer: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    log_in(pages, officer)
    real = site.load_account

    def revoked(rt: Runtime, account_id: str) -> Account | None:
        account = real(rt, account_id)
        if account is not None:  # what the ledger's TokensRevoked sets: its event's time
            account.tokens_valid_from = datetime.now(UTC) + timedelta(seconds=5)
        return account

    monkeypatch.setattr(site, "load_account", revoked)

    assert refused(pages.get("/officer/"))
    assert [r["ended_reason"] for r in rows(runtime)] == ["tokens_revoked"]


def test_a_cookie_naming_an_unknown_session_is_refused(
    pages: TestClient, settings: Settings
) -> None:
    serializer = URLSafeTimedSerializer(session_key(settings), salt="psvs-ledger officer session")
    pages.cookies.set(COOKIE, serializer.dumps({"csrf": "x", "sid": "made-up"}), path="/officer")

    assert refused(pages.get("/officer/"))

"""Failed sign-ins are counted in PostgreSQL, per client address and per account, so every
worker process shares the count: the sixth attempt in 15 minutes after five unknown tokens is 429
with `Retry-After`, even with a right token; every failure is a security log line that never
holds the token; the rows age out of the window."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.core.runtime import Runtime, open_runtime
from api.core.settings import Settings
from api.identity.throttle import Throttle, too_many
from ledger.values import Role
from tests.support.codes import NANAN
from tests.support.http import police_token
from tests.support.logs import security_lines
from tests.support.pages import CSRF

WRONG = "wrong-token-Zx81"


def attempt(client: TestClient, token: str) -> Any:
    page = client.get("/officer/login")
    csrf = CSRF.search(page.text)
    assert csrf
    return client.post(
        "/officer/login",
        data={"token": token, "csrf_token": csrf.group(1), "next": "/officer/"},
        follow_redirects=False,
    )


def age_failures(runtime: Runtime, interval: str) -> None:
    with runtime.reads.transaction(commit=True) as curs:
        curs.execute("UPDATE auth_failures SET failed_at = failed_at - %s::interval", (interval,))


def failure_count(runtime: Runtime) -> int:
    with runtime.reads.transaction(commit=False) as curs:
        curs.execute("SELECT count(*) AS n FROM auth_failures")
        row = curs.fetchone()
    assert row is not None
    return int(row["n"])


@pytest.fixture
def officer(runtime: Runtime) -> str:
    return police_token(runtime, Role.OFFICER, NANAN, name="李警官")


def test_five_wrong_tokens_then_the_sixth_attempt_is_429_even_with_the_right_token(
    client: TestClient, runtime: Runtime, officer: str, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    for _ in range(5):
        assert attempt(client, WRONG).status_code == 401
    failures = [e for e in security_lines(capsys.readouterr().err) if e["event"] == "auth_failure"]

    sixth = attempt(client, officer)

    assert sixth.status_code == 429
    assert 890 <= int(sixth.headers["Retry-After"]) <= 900
    assert "登录失败次数过多" in sixth.text
    assert client.get("/officer/", follow_redirects=False).status_code == 303  # not signed in
    assert len(failures) == 5
    for line in failures:
        assert line["kind"] == "officer_login" and line["reason"] == "unknown_token"
        assert line["client"] == "testclient" and line["level"] == "warning"
    err = capsys.readouterr().err
    throttled = [e for e in security_lines(err) if e["event"] == "auth_throttled"]
    assert throttled and throttled[0]["client"] == "testclient"
    assert officer not in err and WRONG not in err
    assert failure_count(runtime) == 5  # a throttled attempt is not counted


def test_another_address_is_not_throttled_and_the_window_passes(
    client: TestClient, runtime: Runtime, officer: str
) -> None:
    for _ in range(5):
        attempt(client, WRONG)
    elsewhere = TestClient(client.app, client=("198.51.100.7", 40000))

    assert attempt(elsewhere, officer).status_code == 303
    assert attempt(client, officer).status_code == 429
    age_failures(runtime, "14 minutes 50 seconds")
    assert 1 <= int(attempt(client, officer).headers["Retry-After"]) <= 10
    age_failures(runtime, "11 seconds")  # the oldest has left the window
    assert attempt(client, officer).status_code == 303


@pytest.fixture
def second_runtime(settings: Settings) -> Iterator[Runtime]:
    rt = open_runtime(settings, projections=False)
    try:
        yield rt
    finally:
        rt.close()


def test_a_second_process_on_the_same_database_sees_the_same_count(
    client: TestClient, second_runtime: Runtime, settings: Settings, officer: str
) -> None:
    with TestClient(create_app(settings, runtime=second_runtime)) as other:
        for pages in (client, other, client, other, client):
            assert attempt(pages, WRONG).status_code == 401

        answer = attempt(other, officer)

        assert answer.status_code == 429
        assert "Retry-After" in answer.headers
        assert attempt(client, officer).status_code == 429


def test_the_limit_and_window_come_from_the_settings(
    settings: Settings, runtime: Runtime, officer: str
) -> None:
    strict = settings.model_copy(
        update={"auth_failure_limit": 2, "auth_failure_window_seconds": 60}
    )
    with TestClient(create_app(strict, runtime=runtime)) as pages:
        assert attempt(pages, WRONG).status_code == 401
        assert attempt(pages, WRONG).status_code == 401
        answer = attempt(pages, officer)
        assert answer.status_code == 429
        assert 50 <= int(answer.headers["Retry-After"]) <= 60


def test_the_throttle_counts_per_account_and_prunes_old_rows(
    runtime: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    throttle = Throttle(runtime.reads, limit=3, window_seconds=600)
    for n in range(3):  # one account, three addresses: the account is throttled, not they
        throttle.failed(
            address=f"203.0.113.{n}", account_id="acct-1", kind="bearer_token", reason="disabled"
        )

    assert throttle.retry_after(address="203.0.113.0") is None
    assert throttle.retry_after(address="203.0.113.9", account_id="acct-2") is None
    wait = throttle.retry_after(address="203.0.113.9", account_id="acct-1")
    assert wait is not None and 590 <= wait <= 600
    lines = security_lines(capsys.readouterr().err)
    assert [e["kind"] for e in lines if e["event"] == "auth_failure"] == ["bearer_token"] * 3
    assert [e["account_id"] for e in lines if e["event"] == "auth_throttled"] == ["acct-1"]

    age_failures(runtime, "10 minutes")
    assert throttle.retry_after(address="203.0.113.9", account_id="acct-1") is None
    throttle.failed(address="203.0.113.9", account_id=None, kind="bearer_token", reason="unknown")
    assert failure_count(runtime) == 1  # the three old rows were pruned by the insert


def test_the_wait_is_until_enough_failures_leave_the_window(runtime: Runtime) -> None:
    throttle = Throttle(runtime.reads, limit=2, window_seconds=900)
    throttle.failed(address="a", account_id=None, kind="officer_login", reason="unknown_token")
    age_failures(runtime, "10 minutes")
    throttle.failed(address="a", account_id=None, kind="officer_login", reason="unknown_token")
    throttle.failed(address="a", account_id=None, kind="officer_login", reason="unknown_token")

    # Three in the window, limit two: the address may try again once only one is left, when
    # the second newest (just now) leaves, not the oldest (in five minutes).
    wait = throttle.retry_after(address="a")

    assert wait is not None and 890 <= wait <= 900


def test_too_many_is_a_429_problem_with_retry_after() -> None:
    problem = too_many(42)

    assert problem.status == 429
    assert problem.headers == {"Retry-After": "42"}


def test_an_unknown_kind_of_failure_is_a_programming_error(runtime: Runtime) -> None:
    with pytest.raises(ValueError):
        Throttle(runtime.reads).failed(address="a", account_id=None, kind="x", reason="y")

"""Every request gets an id, one log line and a count in the metrics, refusals included."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.core import logs
from api.core.runtime import Runtime
from api.core.settings import Settings
from ledger.values import Role
from tests.support.http import police_token


def _lines(err: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in err.splitlines() if line.startswith("{")]


def test_a_request_keeps_its_id_and_is_logged_and_counted_by_route(
    client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    response = client.get("/v1/systems/not-a-uuid", headers={"X-Request-ID": "trace-42"})

    assert response.headers["X-Request-ID"] == "trace-42"
    logged = [line for line in _lines(capsys.readouterr().err) if line.get("event") == "request"]
    assert {
        "request_id": "trace-42",
        "route": "/v1/systems/{system_id}",
        "status": 401,
    }.items() <= logged[-1].items()
    metrics = client.get("/metrics").text
    assert (
        'ledger_http_requests_total{method="GET",route="/v1/systems/{system_id}",status="401"}'
        in metrics
    )


def test_an_unusable_request_id_is_replaced_by_a_fresh_one(client: TestClient) -> None:
    response = client.get("/livez", headers={"X-Request-ID": "bad id with spaces"})

    given = response.headers["X-Request-ID"]
    assert given != "bad id with spaces"
    assert len(given) == 32


def test_the_request_line_says_who_from_where_and_how_long_and_never_the_token(
    client: TestClient, runtime: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    token = police_token(runtime, Role.OFFICER, "500108", name="李警官")
    page = client.get("/officer/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf
    capsys.readouterr()
    client.post(
        "/officer/login",
        data={"token": token, "csrf_token": csrf.group(1), "next": "/officer/"},
        follow_redirects=False,
    )
    client.get("/officer/systems")
    client.get("/livez")

    err = capsys.readouterr().err
    # (the pages' routes are logged by their path inside the /officer router)
    logged = {line["route"]: line for line in _lines(err) if line.get("event") == "request"}
    signed_in = logged["/systems"]
    account_id = signed_in["account_id"]
    assert isinstance(account_id, str) and account_id
    assert {"role": "officer", "client": "testclient", "status": 200}.items() <= signed_in.items()
    assert isinstance(signed_in["duration_ms"], int | float) and signed_in["duration_ms"] >= 0
    assert logged["/login"]["account_id"] == account_id  # the sign-in itself
    anonymous = logged["/livez"]
    assert anonymous["account_id"] is None and anonymous["role"] is None
    assert anonymous["client"] == "testclient"
    assert token not in err
    assert client.cookies.get("psvs_officer", "") not in err


def test_security_lines_are_written_even_when_the_log_is_quieted_to_warnings(
    settings: Settings, runtime: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    quiet = settings.model_copy(update={"log_level": "warning"})
    token = police_token(runtime, Role.OFFICER, "500108", name="李警官")
    try:
        with TestClient(create_app(quiet, runtime=runtime)) as pages:
            page = pages.get("/officer/login")
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            assert csrf
            capsys.readouterr()
            pages.post(
                "/officer/login",
                data={"token": token, "csrf_token": csrf.group(1)},
                follow_redirects=False,
            )
    finally:
        logs.configure(settings.log_level)

    lines = _lines(capsys.readouterr().err)
    assert [line["event"] for line in lines if line.get("security")] == ["sign_in"]
    assert not [line for line in lines if line.get("event") == "request"]  # info: quieted

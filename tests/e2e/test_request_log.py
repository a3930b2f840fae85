"""Every request gets an id, one log line and a count in the metrics, refusals included."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient


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

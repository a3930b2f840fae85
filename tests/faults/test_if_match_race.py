"""Fifty concurrent changes to one system, all based on the same version."""

from __future__ import annotations

import threading
from collections import Counter

import httpx
import pytest

from tests.support import http as h
from tests.support.faults import Deployment, report, unit_client

pytestmark = pytest.mark.faults
WRITERS = 50


def test_of_fifty_changes_with_the_same_if_match_exactly_one_succeeds(
    deployment: Deployment,
) -> None:
    deployment.serve()
    token, uscc = unit_client(deployment)
    with httpx.Client(base_url=deployment.url, timeout=60) as client:
        filed = client.post("/v1/systems", json=h.filing_body(uscc), headers=h.auth(token))
        assert filed.status_code == 201, filed.text
    system_id, version = filed.json()["system_id"], filed.headers["etag"]
    start = threading.Barrier(WRITERS)
    answers: list[httpx.Response] = []
    lock = threading.Lock()

    def change(writer: int) -> None:
        with httpx.Client(base_url=deployment.url, timeout=60) as client:
            body = h.change_body(name=f"改名 {writer}")
            start.wait()
            answer = client.post(
                f"/v1/systems/{system_id}/changes",
                json=body,
                headers={**h.auth(token), "If-Match": version},
            )
            with lock:
                answers.append(answer)

    threads = [threading.Thread(target=change, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    statuses = Counter(a.status_code for a in answers)
    report(
        "same_if_match",
        {"requests_sent": WRITERS, **{f"status_{k}": v for k, v in statuses.items()}},
    )
    assert statuses == {200: 1, 412: WRITERS - 1}
    winner = next(a for a in answers if a.status_code == 200)
    with httpx.Client(base_url=deployment.url, timeout=60) as client:
        now = client.get(f"/v1/systems/{system_id}", headers=h.auth(token))
        history = client.get(f"/v1/systems/{system_id}/history", headers=h.auth(token)).json()
    assert now.json()["name"] == winner.json()["name"]
    assert now.headers["etag"] == winner.headers["etag"] != version
    assert [item["type"] for item in history["items"]].count("changed") == 1

"""Concurrent writes through HTTP: If-Match lets exactly one of racing changes win, and racing
filings in one division get distinct, gapless filing numbers (docs/contract.md)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest
from fastapi.testclient import TestClient

from tests.support.http import (
    UnitAccount,
    change,
    change_body,
    file_system,
    filed,
    filing_body,
    list_systems,
    today,
    unit_account,
)

T = TypeVar("T")


def race(count: int, request: Callable[[int], T]) -> list[T]:
    """Runs `request(i)` for i in range(count) in threads released together."""
    start = threading.Barrier(count)

    def run(i: int) -> T:
        start.wait(timeout=30)
        return request(i)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def history(client: TestClient, owner: UnitAccount, system_id: str) -> list[dict[str, Any]]:
    response = client.get(f"/v1/systems/{system_id}/history", headers=owner.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


@pytest.mark.parametrize("writers", [2, 10])
def test_racing_changes_with_the_same_if_match_let_exactly_one_win(
    client: TestClient, writers: int
) -> None:
    owner = unit_account(client)
    system_id = filed(client, owner).json()["system_id"]

    responses = race(
        writers,
        lambda i: change(client, owner.token, system_id, change_body(name=f"并发变更{i}"), '"1"'),
    )

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [412] * (writers - 1), [r.text for r in responses]
    winner = next(r for r in responses if r.status_code == 200)
    assert winner.headers["ETag"] == '"2"'
    items = history(client, owner, system_id)
    assert [i["type"] for i in items] == ["filed", "changed"]
    current = client.get(f"/v1/systems/{system_id}", headers=owner.headers)
    assert current.json()["name"] == winner.json()["name"]
    assert current.headers["ETag"] == '"2"'


def test_racing_filings_in_one_division_get_gapless_distinct_numbers(
    client: TestClient,
) -> None:
    owners = [unit_account(client) for _ in range(4)]

    responses = race(
        20,
        lambda i: file_system(
            client,
            owners[i % 4].token,
            filing_body(owners[i % 4].uscc, devices=1, name=f"并发备案{i}"),
        ),
    )

    assert [r.status_code for r in responses] == [201] * 20, [r.text for r in responses]
    numbers = sorted(r.json()["filing_number"] for r in responses)
    year = today().year
    assert numbers == [f"500108-{year}-{n:06d}" for n in range(1, 21)]
    listed = sum(len(list_systems(client, o.token)["items"]) for o in owners)
    assert listed == 20


def test_racing_retries_with_one_idempotency_key_file_once(client: TestClient) -> None:
    owner = unit_account(client)
    body = filing_body(owner.uscc)

    responses = race(
        5, lambda i: file_system(client, owner.token, body, **{"Idempotency-Key": "same"})
    )

    assert [r.status_code for r in responses] == [201] * 5, [r.text for r in responses]
    assert len({r.json()["system_id"] for r in responses}) == 1
    assert len({r.json()["filing_number"] for r in responses}) == 1
    assert len(list_systems(client, owner.token)["items"]) == 1

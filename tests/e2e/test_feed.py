"""GET /v1/feed: the ledger's events as NDJSON, exactly once, in order, live, and scoped."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.core.runtime import Runtime, open_runtime
from api.core.settings import Settings
from ledger.values import Role
from projections.event_items import event_type, public_id
from tests.support.codes import SHAPINGBA
from tests.support.http import (
    assert_problem,
    auth,
    change,
    change_body,
    device,
    filed,
    police_token,
    unit_account,
)

NDJSON = "application/x-ndjson"
HEARTBEAT = 0.2
WRITERS = 4
SYSTEMS_EACH = 3


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Heartbeats every 0.2 s, so a follower wakes often enough to notice the end of a test."""
    return settings.model_copy(update={"feed_heartbeat_seconds": HEARTBEAT})


def logged(rt: Runtime) -> list[tuple[int, str]]:
    """Every shown event in the log, read straight from the event store: (position, id)."""
    notifications = rt.ledger.recorder.select_notifications(start=0, limit=1_000_000)
    events = [(n.id, rt.ledger.mapper.to_domain_event(n)) for n in notifications]
    return [(p, str(public_id(e))) for p, e in events if event_type(e) is not None]


def write_concurrently(client: TestClient, writers: int = WRITERS) -> None:
    """`writers` units, each filing and renaming systems from its own thread at once."""
    errors: list[BaseException] = []

    def work() -> None:
        try:
            account = unit_account(client)
            for n in range(SYSTEMS_EACH):
                system = filed(client, account, name=f"系统{n}").json()
                renamed = change(
                    client,
                    account.token,
                    system["system_id"],
                    change_body(name=f"系统{n}（更名）"),
                    '"1"',
                )
                assert renamed.status_code == 200, renamed.text
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors


def follow_until(lines: Iterator[str], done: threading.Event, expected: list[Any]) -> list[Any]:
    """Items from a follow stream until `done` is set and the last expected item arrived."""
    items: list[dict[str, Any]] = []
    for line in lines:
        message = json.loads(line)
        if "heartbeat" not in message:
            items.append(message)
        if done.is_set() and expected and items and items[-1]["position"] >= expected[-1][0]:
            return items
    raise AssertionError("the stream ended early")


def test_a_follower_gets_every_event_once_in_order_while_writers_commit(
    client: TestClient, runtime: Runtime, admin: str
) -> None:
    done = threading.Event()
    expected: list[tuple[int, str]] = []

    def writers() -> None:
        write_concurrently(client)
        expected.extend(logged(runtime))
        done.set()

    with client.stream("GET", "/v1/feed", params={"follow": "true"}, headers=auth(admin)) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith(NDJSON)
        thread = threading.Thread(target=writers)
        thread.start()
        items = follow_until(r.iter_lines(), done, expected)
        thread.join()

    assert [(i["position"], i["event_id"]) for i in items] == expected
    assert sum(i["type"] == "changed" for i in items) == WRITERS * SYSTEMS_EACH
    assert all(i["hash"] for i in items)


def test_a_follower_resumes_after_a_disconnect_without_loss_or_repeat(
    client: TestClient, runtime: Runtime, admin: str
) -> None:
    write_concurrently(client, writers=2)
    first: list[dict[str, Any]] = []
    with client.stream("GET", "/v1/feed", params={"follow": "true"}, headers=auth(admin)) as r:
        for line in r.iter_lines():
            first.append(json.loads(line))
            if len(first) == 5:
                break  # the consumer goes away mid-stream
    done = threading.Event()
    expected: list[tuple[int, str]] = []

    def more() -> None:
        write_concurrently(client, writers=2)
        expected.extend(logged(runtime))
        done.set()

    thread = threading.Thread(target=more)
    thread.start()
    params = {"follow": "true", "after": str(first[-1]["position"])}
    with client.stream("GET", "/v1/feed", params=params, headers=auth(admin)) as r:
        rest = follow_until(r.iter_lines(), done, expected)
    thread.join()

    assert [(i["position"], i["event_id"]) for i in first + rest] == expected


def test_an_idle_follower_gets_heartbeats_with_the_feed_position(
    client: TestClient, runtime: Runtime, admin: str
) -> None:
    write_concurrently(client, writers=1)
    head = runtime.head()
    last = logged(runtime)[-1][0]
    params = {"follow": "true", "after": str(last)}
    with client.stream("GET", "/v1/feed", params=params, headers=auth(admin)) as r:
        lines = r.iter_lines()
        beats = [json.loads(next(lines)), json.loads(next(lines))]

    assert all(set(b) == {"heartbeat"} and b["heartbeat"] >= head for b in beats)


def test_without_follow_the_feed_ends_after_limit_or_at_the_head(
    client: TestClient, runtime: Runtime, admin: str
) -> None:
    write_concurrently(client, writers=1)
    expected = logged(runtime)

    everything = client.get("/v1/feed", headers=auth(admin))
    three = client.get("/v1/feed", params={"limit": 3}, headers=auth(admin))
    after = client.get("/v1/feed", params={"after": expected[2][0]}, headers=auth(admin))

    assert everything.headers["content-type"].startswith(NDJSON)
    items = [json.loads(line) for line in everything.text.splitlines()]
    assert [(i["position"], i["event_id"]) for i in items] == expected
    assert [json.loads(line)["position"] for line in three.text.splitlines()] == [
        p for p, _ in expected[:3]
    ]
    assert [json.loads(line)["position"] for line in after.text.splitlines()] == [
        p for p, _ in expected[3:]
    ]
    for field in (
        "event_id",
        "type",
        "system_id",
        "unit_uscc",
        "division_code",
        "recorded_at",
        "effective_on",
        "actor",
        "channel",
        "data",
        "hash",
        "diff",
    ):
        assert field in items[-1], field


def test_feed_limits_are_checked(client: TestClient, admin: str) -> None:
    assert_problem(client.get("/v1/feed", params={"limit": 10_001}, headers=auth(admin)), 422)
    assert_problem(client.get("/v1/feed", params={"after": -1}, headers=auth(admin)), 422)
    assert_problem(client.get("/v1/feed"), 401)


def test_a_change_in_the_feed_states_each_field_and_the_devices_added_and_removed(
    client: TestClient, admin: str
) -> None:
    account = unit_account(client)
    system = filed(client, account, devices=2).json()
    removed = system["devices"][0]["key"]
    body = {
        **change_body(name="新名称"),
        "devices_added": [device(7)],
        "devices_removed": [removed],
    }
    changed = change(client, account.token, system["system_id"], body, '"1"')
    assert changed.status_code == 200, changed.text

    lines = client.get("/v1/feed", headers=auth(admin)).text.splitlines()
    [item] = [json.loads(x) for x in lines if json.loads(x)["type"] == "changed"]

    assert item["diff"]["name"] == {"old": "南坪商圈视频监控系统", "new": "新名称"}
    assert item["diff"]["devices"]["removed"] == [removed]
    assert len(item["diff"]["devices"]["added"]) == 1
    assert item["system_id"] == system["system_id"]


def test_an_officer_of_another_district_sees_none_of_this_districts_events(
    client: TestClient, runtime: Runtime
) -> None:
    write_concurrently(client, writers=1)
    nanan = police_token(runtime, Role.OFFICER, "500108")
    shapingba = police_token(runtime, Role.OFFICER, SHAPINGBA)

    own = client.get("/v1/feed", headers=auth(nanan)).text.splitlines()
    other = client.get("/v1/feed", headers=auth(shapingba)).text.splitlines()
    params = {"follow": "true"}
    with client.stream("GET", "/v1/feed", params=params, headers=auth(shapingba)) as r:
        first = json.loads(next(r.iter_lines()))

    # the window officer's business licence, the unit's registration, filings and changes
    assert len(own) == 2 * SYSTEMS_EACH + 2
    assert all(json.loads(line)["division_code"] == "500108" for line in own)
    assert other == []
    assert set(first) == {"heartbeat"}


def test_a_server_without_projection_workers_follows_the_views_another_process_keeps(
    settings: Settings, client: TestClient, runtime: Runtime, admin: str
) -> None:
    """`serve --no-projections`: one shared poller watches the views the runtime keeps."""
    reader = open_runtime(settings, projections=False)
    done = threading.Event()
    expected: list[tuple[int, str]] = []

    def writers() -> None:
        write_concurrently(client, writers=2)
        expected.extend(logged(runtime))
        done.set()

    try:
        with TestClient(create_app(settings, runtime=reader)) as bare:
            params = {"follow": "true"}
            with bare.stream("GET", "/v1/feed", params=params, headers=auth(admin)) as r:
                thread = threading.Thread(target=writers)
                thread.start()
                items = follow_until(r.iter_lines(), done, expected)
                thread.join()
    finally:
        reader.close()

    assert [(i["position"], i["event_id"]) for i in items] == expected


def test_feed_items_are_the_audit_routes_items(client: TestClient, admin: str) -> None:
    write_concurrently(client, writers=1)

    audit = client.get("/v1/audit", params={"limit": 500}, headers=auth(admin)).json()
    feed = client.get("/v1/feed", headers=auth(admin)).text.splitlines()

    assert [json.loads(line) for line in feed] == audit["items"]

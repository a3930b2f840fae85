"""Speed of the change feed, and what idle followers cost a server.

    .venv/bin/python -m bench.feed_speed [--systems 10000] [--followers 200]

Builds a log in a scratch database (bench/logs.py: systems with ten cameras, every other one
changed once), starts a real `psvs-ledger serve` subprocess on loopback and waits until its
views have caught up. Then:

- one follower reads `GET /v1/feed?follow=true` from the start over HTTP until it has every
  event; beside it, in the same run, a raw read of the same rows from the log (a server-side
  cursor over the events table in position order: what no feed can beat);
- `--followers` followers connect with `follow=true` at the head and stay idle (each waits for
  its first heartbeat, proof that it is in the follow loop); the server's resident memory and
  its database connections are measured before they connect and while they are connected,
  then they all disconnect.

Writes bench/results/feed.json. Bounded: fixed sizes, every wait has a timeout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from pathlib import Path

import httpx
import psycopg

from api.core.runtime import open_runtime
from api.core.settings import Settings
from bench.http_load import Server
from bench.logs import build_log, plain_select_rate, scratch_database
from bench.report import Figure, write

HEARTBEAT_SECONDS = 2
TIMEOUT_SECONDS = 300.0


def _shown_events(url: str) -> int:
    """Events the feed shows (the audit view's rows): what a follower must receive."""
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM audit_items").fetchone()
    return int(row[0]) if row else 0


def _connections(url: str) -> int:
    """The server's connections to the bench database (this query's own left out)."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    return int(row[0]) if row else 0


def _wait_caught_up(server: Server, token: str) -> int:
    """The log's head once every view has reached it (/readyz's details are an admin's)."""
    headers = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        ready = httpx.get(f"{server.base}/readyz", headers=headers, timeout=10).json()
        if ready.get("views") and all(v["lag"] == 0 for v in ready["views"]):
            return int(ready["head"])
        time.sleep(0.5)
    raise RuntimeError("the views did not catch up")


def _follow_from_start(server: Server, token: str, expected: int) -> tuple[int, float]:
    """One follower from position 0: events/s until it holds `expected` events. It splits
    the stream into lines itself (httpx's `iter_lines` would be the bottleneck here)."""
    received = 0
    headers = {"Authorization": f"Bearer {token}"}
    started = time.perf_counter()
    with httpx.stream(
        "GET",
        f"{server.base}/v1/feed",
        params={"follow": "true"},
        headers=headers,
        timeout=TIMEOUT_SECONDS,
    ) as response:
        response.raise_for_status()
        rest = b""
        for chunk in response.iter_raw():
            *lines, rest = (rest + chunk).split(b"\n")
            received += sum(1 for line in lines if not line.startswith(b'{"heartbeat"'))
            if received >= expected:
                break
    return received, received / (time.perf_counter() - started)


async def _idle_followers(server: Server, token: str, count: int, head: int) -> tuple[int, int]:
    """Connects `count` idle followers; returns the server's RSS and database connections
    once all of them are in the follow loop."""
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=count + 10)
    params = {"follow": "true", "after": str(head)}
    async with httpx.AsyncClient(base_url=server.base, limits=limits, timeout=60) as http:
        beating = asyncio.Event()
        arrived = 0
        release = asyncio.Event()

        async def follower() -> None:
            nonlocal arrived
            async with http.stream("GET", "/v1/feed", params=params, headers=headers) as r:
                lines = r.aiter_lines()
                first = json.loads(await anext(lines))
                assert "heartbeat" in first, first
                arrived += 1
                if arrived == count:
                    beating.set()
                await release.wait()

        tasks = [asyncio.create_task(follower()) for _ in range(count)]
        await asyncio.wait_for(beating.wait(), TIMEOUT_SECONDS)
        rss = server.rss()
        connections = await asyncio.to_thread(_connections, server.env["LEDGER_DATABASE_URL"])
        release.set()
        await asyncio.gather(*tasks)
    return rss, connections


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--systems", type=int, default=10_000)
    parser.add_argument("--followers", type=int, default=200)
    args = parser.parse_args()
    with scratch_database("psvs_feed") as url, tempfile.TemporaryDirectory() as data:
        runtime = open_runtime(Settings(database_url=url, data_dir=Path(data)), projections=False)
        try:
            head = build_log(runtime.ledger, systems=args.systems, batch=50)
        finally:
            runtime.close()
        print(f"log of {head:,} positions built")
        # Short heartbeats: an idle follower proves it is in the follow loop sooner.
        os.environ["LEDGER_FEED_HEARTBEAT_SECONDS"] = str(HEARTBEAT_SECONDS)
        # Every idle follower uses the one bench token: lift the per-token cap (4) for them.
        os.environ["LEDGER_FEED_FOLLOWERS_PER_TOKEN"] = str(args.followers + 1)
        server = Server(url, Path(data), workers=1)
        try:
            figures, context = _measure(server, url, args.followers)
        finally:
            server.stop()
    context["systems"] = args.systems
    write("feed", figures, context=context)


def _measure(server: Server, url: str, followers: int) -> tuple[list[Figure], dict[str, object]]:
    token = server.cli("accounts", "create", "--role", "admin", "--name", "bench").splitlines()[-1]
    head = _wait_caught_up(server, token)
    expected = _shown_events(url)
    received, feed_rate = _follow_from_start(server, token, expected)
    assert received == expected, (received, expected)
    raw_rows, raw_rate = plain_select_rate(url)
    rss_before, connections_before = server.rss(), _connections(url)
    rss_with, connections_with = asyncio.run(_idle_followers(server, token, followers, head))
    mb = 1024 * 1024
    figures = [
        Figure("feed catch-up, one follower (events/s)", feed_rate, raw_rate, "events/s"),
        Figure(
            f"server RSS with {followers} idle followers (MB)", rss_with / mb, rss_before / mb, "MB"
        ),
        Figure("RSS per idle follower (KB)", (rss_with - rss_before) / followers / 1024, 0, "KB"),
        Figure(
            f"DB connections with {followers} idle followers",
            connections_with,
            connections_before,
            "conns",
        ),
    ]
    context: dict[str, object] = {"events": expected, "log_rows": raw_rows, "head": head}
    return figures, context


if __name__ == "__main__":
    main()

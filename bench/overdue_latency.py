"""`GET /v1/overdue` for one district of many systems: throughput and p50/p99 latency beside
a raw SELECT by key on the same server, in the same run.

    .venv/bin/python -m bench.overdue_latency [--systems 100000] [--clients 8] [--seconds 10]
    .venv/bin/python -m bench.overdue_latency --database URL --data-dir DIR   # a prebuilt log

On a prebuilt log (bench.scale: 500108 holds a tenth of its systems) the district measured is
500108 all the same; the context names how many systems the overdue view has there.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

import psycopg

from api.core.runtime import open_runtime
from api.core.settings import Settings
from bench import http_load
from bench.logs import build_log, scratch_database
from bench.report import Figure, write
from projections.catalog import VIEWS
from projections.overdue import OverdueView
from projections.rebuild import rebuild

DISTRICT = "500108"  # 南岸区: the district of the goal, and of every log the benches build


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--systems", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--database", help="an already built database to measure (no build)")
    parser.add_argument("--data-dir", type=Path, help="with --database: its data directory")
    args = parser.parse_args()
    systems = args.systems
    with tempfile.TemporaryDirectory(prefix="psvs-bench-") as tmp:
        data = Path(tmp) / "var"
        if args.database:
            data = args.data_dir or data
            ours, limit = measure(args.database, data, args.clients, args.seconds)
            systems = district_systems(args.database)
        else:
            with scratch_database() as url:
                build(url, data, args.systems)
                ours, limit = measure(url, data, args.clients, args.seconds)
    c = args.clients
    write(
        "overdue_latency",
        [
            Figure(f"GET /v1/overdue req/s, {c} clients", ours.rate, limit.rate, "req/s"),
            Figure("GET /v1/overdue p50 ms", ours.percentile(0.5), limit.percentile(0.5), "ms"),
            Figure("GET /v1/overdue p99 ms", ours.percentile(0.99), limit.percentile(0.99), "ms"),
        ],
        context={
            "systems in the district": systems,
            "district": DISTRICT,
            "view": OverdueView.name,
        },
    )


def district_systems(url: str) -> int:
    """Systems of the district in the overdue view (its stable read name)."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM overdue_systems WHERE division_code = %s", (DISTRICT,)
        ).fetchone()
    return int(row[0]) if row else 0


def build(url: str, data: Path, systems: int) -> None:
    runtime = open_runtime(Settings(database_url=url, data_dir=data), projections=False)
    try:
        build_log(runtime.ledger, systems=systems, batch=50)
        for kind in VIEWS.values():  # the server is ready only when every view has caught up
            rebuild(
                app=runtime.ledger,
                registry=runtime.registry,
                kind=kind,
                open_view=runtime.open_view,
                rules_toml=None,
            )
    finally:
        runtime.close()


def measure(url: str, data: Path, clients: int, seconds: float) -> tuple[Any, Any]:
    """/v1/overdue against the raw SELECT route, on one served copy of the database."""
    with http_load.serving(url, data) as server:
        officer = (
            server.cli(
                "accounts", "create", "--role", "officer", "--division", DISTRICT, "--name", "压测"
            )
            .strip()
            .splitlines()[-1]
        )
        import httpx

        ids = [
            i["system_id"]
            for i in httpx.get(
                f"{server.base}/v1/systems",
                params={"limit": 500},
                headers={"Authorization": f"Bearer {officer}"},
                timeout=60,
            ).json()["items"]
        ]

        def overdue(k: int, n: int) -> tuple[str, str, object]:
            return "GET", f"/v1/overdue?division_code={DISTRICT}&limit=50", None

        def raw(k: int, n: int) -> tuple[str, str, object]:
            return "GET", f"/bench/raw-select/{ids[n % len(ids)]}", None

        ours = http_load.run_phase(
            server.base, overdue, token=officer, clients=clients, seconds=seconds
        )
        limit = http_load.run_phase(
            server.base, raw, token=officer, clients=clients, seconds=seconds
        )
    return ours, limit


if __name__ == "__main__":
    main()

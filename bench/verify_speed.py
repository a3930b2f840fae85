"""Speed of linking and verifying the hash chain, beside a plain SELECT of the same rows.

    .venv/bin/python -m bench.verify_speed [--events 100000] [--embedded]

Builds a log of at least `--events` events in a scratch database with bench/logs.py (filings
of systems with ten cameras, their filing numbers, a change for every other one), links it
with the chain view exactly as `psvs-ledger projections rebuild chain` does, then runs
`psvs-ledger verify`'s check. The plain SELECT reads the same columns through a server-side
cursor in log order: what no verifier can beat. Run by hand; never a timed assertion in tests.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from api.core.runtime import open_runtime
from api.core.settings import Settings
from api.queries.verification import verify
from bench.logs import build_log, plain_select_rate, scratch_database
from projections.chain import ChainView
from projections.rebuild import rebuild


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument(
        "--embedded",
        action="store_true",
        help="a private embedded PostgreSQL instead of LEDGER_BENCH_SERVER_URL",
    )
    args = parser.parse_args()
    with scratch_database(embedded=args.embedded) as url, tempfile.TemporaryDirectory() as data:
        runtime = open_runtime(Settings(database_url=url, data_dir=Path(data)), projections=False)
        try:
            started = time.perf_counter()
            # About 2.5 events per system (filing, number, a change for every other one).
            head = build_log(runtime.ledger, systems=args.events * 2 // 5 + 50, batch=50)
            print(f"log of {head:,} events built in {time.perf_counter() - started:.1f} s")
            events, select = plain_select_rate(url)
            linked = rebuild(
                app=runtime.ledger,
                registry=runtime.registry,
                kind=ChainView,
                open_view=runtime.open_view,
                rules_toml=None,
            )
            result = verify(runtime)
        finally:
            runtime.close()
    assert result.verified and result.events == events, result
    print(f"{'':28} {'events':>9} {'events/s':>10} {'of SELECT':>10}")
    for label, count, rate in (
        ("plain SELECT (limit)", events, select),
        ("chain view (link + sign)", linked.events, linked.events_per_second),
        ("verify (recompute + check)", result.events, result.events_per_second),
    ):
        print(f"{label:28} {count:>9,} {rate:>10,.0f} {rate / select:>10.1%}")
    print(f"checkpoints verified: {result.checkpoints.verified}/{result.checkpoints.count}")


if __name__ == "__main__":
    main()

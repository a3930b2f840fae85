"""Rebuild speed of every view, beside a plain SELECT and a decode of the same log, one run.

    .venv/bin/python -m bench.rebuild_speed [--systems 80000]

80,000 systems make about 200,000 events (filing, filing number, and a change for every other
system). Each view is rebuilt exactly as `psvs-ledger projections rebuild NAME` does it.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

from api.runtime import open_runtime
from api.settings import Settings
from bench.logs import build_log, plain_select_rate, scratch_database
from bench.report import Figure, write
from projections.catalog import VIEWS
from projections.rebuild import rebuild


def decode_rate(runtime: object) -> float:
    """Events/s of reading the log in pages of 5,000 and decoding every event."""
    ledger = runtime.ledger  # type: ignore[attr-defined]
    started, position, count = time.perf_counter(), 0, 0
    while True:
        page = ledger.recorder.select_notifications(start=position, limit=5000,
                                                    inclusive_of_start=False)
        if not page:
            break
        for notification in page:
            ledger.mapper.to_domain_event(notification)
        count += len(page)
        position = page[-1].id
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--systems", type=int, default=80_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="psvs-bench-") as tmp, scratch_database() as url:
        settings = Settings(database_url=url, data_dir=Path(tmp) / "var")
        runtime = open_runtime(settings, projections=False)
        try:
            started = time.perf_counter()
            head = build_log(runtime.ledger, systems=args.systems)
            built = time.perf_counter() - started
            print(f"log of {head:,} positions built in {built:.1f} s")
            events, select = plain_select_rate(url)
            decode = decode_rate(runtime)
            figures = [Figure("decode the log (events/s)", decode, select, "events/s")]
            for kind in VIEWS.values():
                report = rebuild(
                    app=runtime.ledger, registry=runtime.registry, kind=kind,
                    open_view=runtime.open_view, rules_toml=None,
                )
                figures.append(Figure(f"rebuild {kind.name} (events/s)",
                                      report.events_per_second, select, "events/s"))
        finally:
            runtime.close()
    write("rebuild", figures, context={"events": events, "limit": "plain SELECT",
                                        "machine": f"{platform.machine()} {platform.node()}"})


if __name__ == "__main__":
    main()

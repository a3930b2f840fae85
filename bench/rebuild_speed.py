"""Rebuild speed of every view, beside the raw read + COPY limit of the same log, one run.

    .venv/bin/python -m bench.rebuild_speed [--systems 80000] [--only status,chain]

80,000 systems make about 200,000 events (filing, filing number, and a change for every other
system). Each view is rebuilt exactly as `psvs-ledger projections rebuild NAME` does it, in
this process; the figures are against the same raw limit `make bench` uses
(`bench.log_phase.raw_read_and_copy`: a server-side cursor read plus a COPY of one row per
event), with a plain SELECT and a decode of every event for context. The resident memory a
rebuild adds is sampled while it runs (peak RSS minus RSS before it): it should not grow with
the log.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from api.core.runtime import open_runtime
from api.core.settings import Settings
from bench.log_phase import raw_read_and_copy
from bench.logs import build_log, plain_select_rate, scratch_database
from bench.report import Figure, write
from projections.catalog import VIEWS
from projections.rebuild import RebuildReport, rebuild


def decode_rate(runtime: object) -> float:
    """Events/s of reading the log in pages of 5,000 and decoding every event."""
    ledger = runtime.ledger  # type: ignore[attr-defined]
    started, position, count = time.perf_counter(), 0, 0
    while True:
        page = ledger.recorder.select_notifications(
            start=position, limit=5000, inclusive_of_start=False
        )
        if not page:
            break
        for notification in page:
            ledger.mapper.to_domain_event(notification)
        count += len(page)
        position = page[-1].id
    return count / (time.perf_counter() - started)


def with_peak_rss(run: Callable[[], Any]) -> tuple[Any, int]:
    """`run()`'s result, and how far this process's RSS rose above its start while it ran."""
    process = psutil.Process()
    before = peak = process.memory_info().rss
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, process.memory_info().rss)
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        result = run()
    finally:
        done.set()
        sampler.join()
    return result, max(peak, process.memory_info().rss) - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--systems", type=int, default=80_000)
    parser.add_argument("--only", default="", help="comma-separated view names (default: all)")
    args = parser.parse_args()
    only = [n for n in args.only.split(",") if n] or list(VIEWS)
    with tempfile.TemporaryDirectory(prefix="psvs-bench-") as tmp, scratch_database() as url:
        settings = Settings(database_url=url, data_dir=Path(tmp) / "var")
        runtime = open_runtime(settings, projections=False)
        try:
            started = time.perf_counter()
            head = build_log(runtime.ledger, systems=args.systems)
            built = time.perf_counter() - started
            print(f"log of {head:,} positions built in {built:.1f} s")
            events, raw = raw_read_and_copy(url)
            _, select = plain_select_rate(url)
            decode = decode_rate(runtime)
            figures = [
                Figure("plain SELECT (events/s)", select, raw, "events/s"),
                Figure("decode the log (events/s)", decode, raw, "events/s"),
            ]
            for name in only:
                kind = VIEWS[name]
                report, grew = with_peak_rss(
                    lambda kind=kind: rebuild(  # type: ignore[misc]
                        app=runtime.ledger,
                        registry=runtime.registry,
                        kind=kind,
                        open_view=runtime.open_view,
                        rules_toml=None,
                    )
                )
                assert isinstance(report, RebuildReport)
                figures.append(
                    Figure(
                        f"rebuild {kind.name} (events/s)", report.events_per_second, raw, "events/s"
                    )
                )
                figures.append(
                    Figure(f"rebuild {kind.name} RSS growth (MB)", grew / 1e6, grew / 1e6, "MB")
                )
        finally:
            runtime.close()
    write(
        "rebuild",
        figures,
        context={
            "events": events,
            "limit": "raw read + COPY",
            "machine": f"{platform.machine()} {platform.node()}",
        },
    )


if __name__ == "__main__":
    main()

"""Hostile device sheets sent to a served app while `/livez` is timed.

    .venv/bin/python -m bench.hostile_sheets [--rounds 3]

Part 1 reads every file of the corpus (tests/support/sheets.py) in a fresh sheet worker and
reports its CPU seconds and peak RSS. Part 2 starts `psvs-ledger serve` on an embedded
PostgreSQL, uploads the files that fit the 100 KB cap, and sends filings naming them (valid
bodies, and bodies that fail their schema too, the 422 handler's path) from two threads for
`--rounds` rounds, while a third thread asks `/livez` every 20 ms; it reports /livez p50/p99/max.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from api.sheets.files import SheetInvalid
from api.sheets.worker import SheetWorkers
from bench import http_load
from bench.logs import scratch_database
from bench.run import _units
from ledger.attachments import MAX_ATTACHMENT_BYTES
from tests.support.http import filing_body, upload
from tests.support.sheets import corpus


def per_file() -> list[dict[str, Any]]:
    workers = SheetWorkers(size=1, tasks_per_worker=1, deadline_seconds=30)
    out = []
    try:
        for hostile in corpus():
            try:
                workers.read_rows(hostile.content)
                reason = "ACCEPTED"
            except SheetInvalid as invalid:
                reason = invalid.errors[0].reason
            out.append(
                {
                    "file": hostile.name,
                    "bytes": len(hostile.content),
                    "worker_cpu_ms": round(workers.last.cpu * 1000, 1),
                    "worker_peak_rss_mb": round(workers.last.rss_kb / 1024, 1),
                    "reason": reason,
                }
            )
    finally:
        workers.close()
    return out


class _Owner:
    def __init__(self, token: str, uscc: str) -> None:
        self.token, self.uscc = token, uscc


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def served(rounds: int) -> dict[str, Any]:
    files = [h for h in corpus() if len(h.content) <= MAX_ATTACHMENT_BYTES]
    with (
        scratch_database(embedded=True) as url,
        tempfile.TemporaryDirectory() as data,
        http_load.serving(url, Path(data)) as server,
        httpx.Client(base_url=server.base, timeout=60) as client,
    ):
        officer = (
            server.cli(
                "accounts", "create", "--role", "officer", "--division", "500108", "--name", "警官"
            )
            .strip()
            .splitlines()[-1]
        )
        ((token, uscc),) = _units(server.base, 1, officer)
        owner = _Owner(token, uscc)
        bodies = []
        for hostile in files:
            answer = upload(client, owner.token, hostile.content, "devices", hostile.media_type)  # type: ignore[arg-type]
            answer.raise_for_status()
            body = filing_body(owner.uscc, device_sheet_id=answer.json()["attachment_id"])
            del body["devices"]
            bodies += [body, {**body, "name": ""}]
        stop = threading.Event()
        livez: list[float] = []
        statuses: list[int] = []

        def probe() -> None:
            with httpx.Client(base_url=server.base, timeout=30) as own:
                while not stop.is_set():
                    started = time.perf_counter()
                    own.get("/livez")
                    livez.append((time.perf_counter() - started) * 1000)
                    time.sleep(0.02)

        def send(share: list[dict[str, Any]]) -> None:
            headers = {"Authorization": f"Bearer {owner.token}"}
            with httpx.Client(base_url=server.base, timeout=60) as own:
                for _ in range(rounds):
                    for body in share:
                        statuses.append(
                            own.post("/v1/systems", json=body, headers=headers).status_code
                        )

        valid: list[int] = []

        def file_valid() -> None:
            """Valid filings (two cameras each) beside the hostile ones: they must go through."""
            headers = {"Authorization": f"Bearer {owner.token}"}
            with httpx.Client(base_url=server.base, timeout=60) as own:
                for n in range(rounds * 10):
                    body = filing_body(owner.uscc, name=f"有效系统{n}")
                    valid.append(own.post("/v1/systems", json=body, headers=headers).status_code)

        idle: list[float] = []
        for _ in range(50):
            started = time.perf_counter()
            client.get("/livez")
            idle.append((time.perf_counter() - started) * 1000)
        prober = threading.Thread(target=probe)
        prober.start()
        senders = [threading.Thread(target=send, args=(bodies[i::2],)) for i in range(2)]
        senders.append(threading.Thread(target=file_valid))
        started = time.perf_counter()
        for thread in senders:
            thread.start()
        for thread in senders:
            thread.join()
        elapsed = time.perf_counter() - started
        stop.set()
        prober.join()
        return {
            "hostile_requests": len(statuses),
            "statuses": sorted(set(statuses)),
            "valid_filings": len(valid),
            "valid_statuses": sorted(set(valid)),
            "seconds": round(elapsed, 2),
            "livez_idle_p50_ms": round(statistics.median(idle), 1),
            "livez_p50_ms": round(statistics.median(livez), 1),
            "livez_p99_ms": round(_percentile(livez, 0.99), 1),
            "livez_max_ms": round(max(livez), 1),
            "livez_samples": len(livez),
            "livez_slowest_ms": [round(v, 1) for v in sorted(livez)[-5:]],
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    for line in per_file():
        print(json.dumps(line, ensure_ascii=False))
    print(json.dumps(served(args.rounds)))


if __name__ == "__main__":
    main()

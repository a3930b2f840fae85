"""The benchmark suite: every figure beside its raw limit from the same run, as a ratio.

    make bench-quick     # about two minutes: 1 and 8 clients, a log of ~50,000 events
    make bench           # 1, 8 and 32 clients, 1 and 2 server workers, ~200,000 events
    python -m bench.run --database URL --data-dir DIR   # on a prebuilt log (bench.scale)

Writes bench/results/quick.json, full.json or, with --database, scale.json (a list of {metric,
ours, limit, unit, ratio}) and prints the same table. The database is a scratch database on the
machine's PostgreSQL (LEDGER_BENCH_SERVER_URL, default 127.0.0.1:5432), or an embedded one when
none runs. With --database no log is built: the log figures (raw read + COPY, every view's
rebuild, verify, disk bytes per event) are measured on that database first, then the HTTP
phases run against a server on it, its views current after the rebuilds. The HTTP phases file
systems into it (500108, the units they register): the log grows by their filings.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

import httpx

from bench import http_load, log_phase
from bench.logs import scratch_database
from bench.report import Figure, write

CLIENTS_QUICK = (1, 8)
CLIENTS_FULL = (1, 8, 32)


def _filing(uscc: str, n: int) -> dict[str, object]:
    devices = [
        {
            "name": f"{n}号系统{d}号摄像机",
            "address": "重庆市南岸区南坪西路1号",
            "longitude": 106.57,
            "latitude": 29.53,
            "device_type": "fixed_bullet",
            "indoor": False,
            "face_capture": False,
            "storage_days": 90,
        }
        for d in range(1, 11)
    ]
    return {
        "unit_uscc": uscc,
        "name": f"南坪商圈视频监控系统{n}",
        "place_category": 2,
        "place_type": "shopping_centre",
        "address": f"重庆市南岸区南坪西路{n}号",
        "division_code": "500108",
        "longitude": 106.57,
        "latitude": 29.53,
        "commissioned_on": "2026-11-01",
        "storage_days": 90,
        "collection_area": "商场出入口及广场",
        "devices": devices,
        "acknowledged_instructions": True,
    }


def _units(base: str, count: int, officer: str) -> list[tuple[str, str]]:
    """`count` legal-person accounts (opened by an officer of 500108 on a business licence)
    with their units registered: (token, uscc)."""
    from ledger.codes import uscc_check_char

    units = []
    with httpx.Client(base_url=base, timeout=30) as http:
        police = {"Authorization": f"Bearer {officer}"}
        for k in range(count):
            body = f"91500108MB{time.time_ns() % 10**7:07d}"
            uscc = body + uscc_check_char(body)
            licence = http.post(
                "/v1/attachments",
                headers=police,
                files={"file": ("licence.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")},
            )
            licence.raise_for_status()
            created = http.post(
                f"/v1/units/{uscc}/legal-person-accounts",
                headers=police,
                json={
                    "name": f"单位{k}",
                    "phone": "13800138000",
                    "business_licence_id": licence.json()["attachment_id"],
                },
            )
            created.raise_for_status()
            token = created.json()["token"]
            http.post(
                "/v1/units",
                headers={"Authorization": f"Bearer {token}"},
                json={
                    "uscc": uscc,
                    "name": f"单位{k}",
                    "unit_type": "enterprise",
                    "address": "重庆市南岸区南坪西路1号",
                    "division_code": "500108",
                    "legal_representative": "张三",
                    "contact_name": "李四",
                    "contact_phone": "023-62881234",
                    "acknowledged_instructions": True,
                },
            ).raise_for_status()
            units.append((token, uscc))
    return units


def http_figures(
    server: http_load.Server, clients: tuple[int, ...], seconds: float, label: str
) -> list[Figure]:
    figures: list[Figure] = []
    officer = (
        server.cli(
            "accounts", "create", "--role", "officer", "--division", "500108", "--name", "压测警官"
        )
        .strip()
        .splitlines()[-1]
    )
    units = _units(server.base, max(clients), officer)

    def token(k: int) -> str:
        return units[k][0]

    def filing(k: int, n: int) -> tuple[str, str, object]:
        return "POST", "/v1/systems", _filing(units[k][1], n)

    def raw_insert(k: int, n: int) -> tuple[str, str, object]:
        return "POST", "/bench/raw-insert", _filing(units[k][1], n)

    for c in clients:
        before = server.cpu_seconds()
        ours = http_load.run_phase(
            server.base, filing, token=token, clients=c, seconds=seconds, expect=201
        )
        between = server.cpu_seconds()
        raw = http_load.run_phase(
            server.base, raw_insert, token=token, clients=c, seconds=seconds, expect=201
        )
        after = server.cpu_seconds()
        figures.append(Figure(f"{label}filings/s, {c} clients", ours.rate, raw.rate, "req/s"))
        # Where the time goes: the server's CPU (its processes, the views' upkeep included,
        # PostgreSQL not) per request; a lower ratio is better.
        figures.append(
            Figure(
                f"{label}server CPU per filing (ms), {c} clients",
                _per_request(between - before, ours),
                _per_request(after - between, raw),
                "ms",
            )
        )
    with httpx.Client(base_url=server.base, timeout=30) as http:
        page = http.get(
            "/v1/systems", params={"limit": 500}, headers={"Authorization": f"Bearer {officer}"}
        ).json()
    ids = [item["system_id"] for item in page["items"]]

    def read(k: int, n: int) -> tuple[str, str, object]:
        return "GET", f"/v1/systems/{ids[n % len(ids)]}", None

    def raw_read(k: int, n: int) -> tuple[str, str, object]:
        return "GET", f"/bench/raw-select/{ids[n % len(ids)]}", None

    def overdue(k: int, n: int) -> tuple[str, str, object]:
        return "GET", "/v1/overdue?division_code=500108&limit=50", None

    c = max(clients)
    raw = http_load.run_phase(server.base, raw_read, token=officer, clients=c, seconds=seconds)
    for name, ours_request in (("GET /v1/systems/{id}", read), ("GET /v1/overdue", overdue)):
        ours = http_load.run_phase(
            server.base, ours_request, token=officer, clients=c, seconds=seconds
        )
        figures.append(Figure(f"{label}{name} req/s, {c} clients", ours.rate, raw.rate, "req/s"))
        # Latencies: ours / limit, so here a lower ratio is better (the goal is <= 1.5).
        for share in (0.5, 0.99):
            figures.append(
                Figure(
                    f"{label}{name} p{int(share * 100)} ms",
                    ours.percentile(share),
                    raw.percentile(share),
                    "ms",
                )
            )
    # One client: the latency of the list itself, without 32 clients queueing on two cores.
    ours = http_load.run_phase(server.base, overdue, token=officer, clients=1, seconds=seconds)
    raw = http_load.run_phase(server.base, raw_read, token=officer, clients=1, seconds=seconds)
    for share in (0.5, 0.99):
        figures.append(
            Figure(
                f"{label}GET /v1/overdue p{int(share * 100)} ms, 1 client",
                ours.percentile(share),
                raw.percentile(share),
                "ms",
            )
        )
    return figures


def _per_request(cpu_seconds: float, phase: http_load.Phase) -> float:
    return cpu_seconds / phase.ok * 1000.0 if phase.ok else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--systems", type=int, help="systems in the log phase")
    parser.add_argument("--seconds", type=float, help="length of each HTTP phase")
    parser.add_argument("--database", help="measure this prebuilt ledger (no log is built)")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path("var"),
        help="with --database: the data directory it was built with",
    )
    parser.add_argument(
        "--http-only",
        action="store_true",
        help="with --database: only the HTTP phases (its views already built)",
    )
    args = parser.parse_args()
    if args.database:
        on_prebuilt(
            args.database,
            args.data_dir,
            quick=args.quick,
            seconds=args.seconds,
            http_only=args.http_only,
        )
        return
    quick = args.quick
    systems = args.systems or (20_000 if quick else 80_000)
    seconds = args.seconds or (4.0 if quick else 10.0)
    clients = CLIENTS_QUICK if quick else CLIENTS_FULL
    figures: list[Figure] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="psvs-bench-") as tmp:
        with scratch_database() as url:
            for workers in (1,) if quick else (1, 2):
                with http_load.serving(url, Path(tmp) / f"var{workers}", workers=workers) as srv:
                    label = "" if workers == 1 else f"{workers} workers: "
                    figures += http_figures(srv, clients, seconds, label)
                    figures.append(
                        Figure(
                            f"{label}server peak RSS under load (MB)",
                            srv.peak_rss / 1e6,
                            srv.peak_rss / 1e6,
                            "MB",
                        )
                    )
        with scratch_database() as url:
            figures += log_phase.figures(url, Path(tmp) / "var-log", systems=systems)
            size = log_phase.log_size(url)
    write(
        "quick" if quick else "full",
        figures,
        context={
            "machine": f"{platform.machine()}, {psutil_cpus()} cpus",
            "log events": size["events"],
            "log systems": size["systems"],
            "seconds per phase": seconds,
            "took": f"{time.monotonic() - started:.0f} s",
        },
    )


def on_prebuilt(
    url: str, data_dir: Path, *, quick: bool, seconds: float | None, http_only: bool = False
) -> None:
    """The log figures on `url` as it stands, then the HTTP phases against it (only those,
    into scale-http.json, with `http_only`: the rebuilds take most of an hour at scale)."""
    seconds = seconds or (4.0 if quick else 10.0)
    clients = CLIENTS_QUICK if quick else CLIENTS_FULL
    started = time.monotonic()
    size = log_phase.log_size(url)
    figures = [] if http_only else log_phase.figures(url, data_dir, systems=None)
    for workers in (1,) if quick else (1, 2):
        with http_load.serving(url, data_dir, workers=workers) as srv:
            label = "" if workers == 1 else f"{workers} workers: "
            figures += http_figures(srv, clients, seconds, label)
            figures.append(
                Figure(
                    f"{label}server peak RSS under load (MB)",
                    srv.peak_rss / 1e6,
                    srv.peak_rss / 1e6,
                    "MB",
                )
            )
    write(
        "scale-http" if http_only else "scale",
        figures,
        context={
            "machine": f"{platform.machine()}, {psutil_cpus()} cpus",
            "log events": size["events"],
            "log systems": size["systems"],
            "seconds per phase": seconds,
            "took": f"{time.monotonic() - started:.0f} s",
        },
    )


def psutil_cpus() -> int:
    import os

    return os.cpu_count() or 0


if __name__ == "__main__":
    main()

"""A bounded HTTP load generator and a `psvs-ledger serve` subprocess to point it at.

Every phase runs a fixed number of concurrent clients for a fixed time on loopback, and returns
the requests that succeeded per second and their latency percentiles. The server's resident
memory (the process and its children) is sampled while it runs.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

Request = Callable[[int, int], tuple[str, str, Any]]  # (client, n) -> (method, path, body)


@dataclass
class Phase:
    ok: int
    failed: int
    seconds: float
    latencies: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def percentile(self, share: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(int(share * len(ordered)), len(ordered) - 1)] * 1000.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A `psvs-ledger serve` subprocess on loopback, with its peak memory tracked."""

    def __init__(self, database_url: str, data_dir: Path, *, workers: int = 1) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "LEDGER_DATABASE_URL": database_url,
            "LEDGER_DATA_DIR": str(data_dir),
            "LEDGER_BENCH_ROUTES": "1",
            "LEDGER_LOG_LEVEL": "warning",
            # The per-token abuse limit (100/s) would cap a phase that reads with one
            # officer's token; the benchmark measures the routes, not the limiter.
            "LEDGER_TOKEN_RATE_PER_SECOND": "1000000",
            "LEDGER_TOKEN_BURST": "1000000",
            # One officer uploads a licence per benchmark unit, from one address.
            "LEDGER_UPLOAD_RATE_PER_MINUTE": "0",
            "LEDGER_UPLOADS_PER_DAY": "0",
            "LEDGER_ACCOUNTS_PER_ADDRESS_PER_DAY": "0",
        }
        args = [sys.executable, "-m", "api.cli.main", "serve", "--port", str(self.port)]
        if workers > 1:
            args += ["--workers", str(workers)]
        self.process = subprocess.Popen(
            args, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        self.peak_rss = 0
        self._sampling = threading.Event()
        self._wait_ready()
        threading.Thread(target=self._sample, daemon=True).start()

    def _wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            try:
                if httpx.get(f"{self.base}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError("server not ready")

    def _processes(self) -> list[psutil.Process]:
        """The server process and its children (its workers), PostgreSQL's not."""
        root = psutil.Process(self.process.pid)
        return [p for p in [root, *root.children(recursive=True)] if "postgres" not in p.name()]

    def rss(self) -> int:
        try:
            return sum(p.memory_info().rss for p in self._processes())
        except psutil.Error:
            return 0

    def cpu_seconds(self) -> float:
        """User and system CPU time of the server's processes so far (PostgreSQL's not)."""
        try:
            return sum(sum(p.cpu_times()[:2]) for p in self._processes())
        except psutil.Error:
            return 0.0

    def _sample(self) -> None:
        while not self._sampling.is_set() and self.process.poll() is None:
            self.peak_rss = max(self.peak_rss, self.rss())
            time.sleep(0.2)

    def cli(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "api.cli.main", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
            check=True,
        )
        return done.stdout

    def stop(self) -> None:
        self._sampling.set()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()


@contextmanager
def serving(database_url: str, data_dir: Path, *, workers: int = 1) -> Iterator[Server]:
    server = Server(database_url, data_dir, workers=workers)
    try:
        yield server
    finally:
        server.stop()


async def _client(
    http: httpx.AsyncClient,
    request: Request,
    client: int,
    headers: dict[str, str],
    counter: Iterator[int],
    stop_at: float,
    phase: Phase,
    expect: int,
) -> None:
    while time.perf_counter() < stop_at:
        method, path, body = request(client, next(counter))
        started = time.perf_counter()
        try:
            response = await http.request(method, path, json=body, headers=headers)
            ok = response.status_code == expect
        except httpx.HTTPError:
            ok = False
        if ok:
            phase.ok += 1
            phase.latencies.append(time.perf_counter() - started)
        else:
            phase.failed += 1


def run_phase(
    base: str,
    request: Request,
    *,
    token: str | Callable[[int], str],
    clients: int,
    seconds: float,
    expect: int = 200,
) -> Phase:
    """`clients` concurrent clients issuing `request` for `seconds`; client k uses token(k)."""

    async def main() -> Phase:
        phase = Phase(ok=0, failed=0, seconds=seconds)
        counter = iter(range(10**9))
        limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as http:
            stop_at = time.perf_counter() + seconds
            await asyncio.gather(
                *(
                    _client(
                        http,
                        request,
                        k,
                        {"Authorization": f"Bearer {token(k) if callable(token) else token}"},
                        counter,
                        stop_at,
                        phase,
                        expect,
                    )
                    for k in range(clients)
                )
            )
        return phase

    return asyncio.run(main())

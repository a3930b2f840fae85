"""The service as a process: its command, a free loopback port, a served instance and its
readiness."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

CLI = Path(sys.executable).with_name("psvs-ledger")
READY_TIMEOUT_SECONDS = 90.0


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class Served:
    """The running service: its base URL and the environment its commands share."""

    url: str
    env: dict[str, str]
    log: Path

    def officer_token(self, name: str = "张警官", division: str = "500108") -> str:
        """What an operator does: `psvs-ledger accounts create`, the token on the last line."""
        done = subprocess.run(
            [str(CLI), "accounts", "create", "--role", "officer", "--division", division,
             "--name", name],
            env=self.env, capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip
        return done.stdout.strip().splitlines()[-1]


def wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Until /readyz answers 200 (the server's own readiness), or the server dies."""
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"psvs-ledger serve exited early:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)  # polling a readiness endpoint: there is no position to wait on
    pytest.fail(f"psvs-ledger serve was not ready in {READY_TIMEOUT_SECONDS}s:\n{log.read_text()}")

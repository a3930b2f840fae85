"""`LEDGER_LOG_FORMAT=json`: every line `psvs-ledger serve` writes to stderr is one JSON object,
uvicorn's start-up and shutdown lines included, and requests are logged once (the service's
own `request` line with `duration_ms`; uvicorn's access log stays off)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from api.core.settings import Settings
from tests.support.processes import free_port

SERVE = [sys.executable, "-c", "import sys; from api.cli.main import main; sys.exit(main())"]


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return error.code


def _serve_and_collect(settings: Settings, tmp_path: Path, *extra: str) -> list[str]:
    port = free_port()
    env = {
        **os.environ,
        "LEDGER_DATABASE_URL": str(settings.database_url),
        "LEDGER_DATA_DIR": str(tmp_path / "var"),
        "LEDGER_LOG_FORMAT": "json",
        "PYTHONWARNINGS": "default",  # warnings, if any, must come out as JSON too
    }
    stderr = tmp_path / "stderr.log"
    with stderr.open("wb") as err:
        server = subprocess.Popen(
            [*SERVE, "serve", "--port", str(port), *extra],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
            cwd=tmp_path,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                assert server.poll() is None, stderr.read_text()
                try:
                    if _get(f"http://127.0.0.1:{port}/livez") == 200:
                        break
                except OSError:
                    pass
                assert time.monotonic() < deadline, "the server did not start in 60 s"
                time.sleep(0.2)
            assert _get(f"http://127.0.0.1:{port}/no-such-page") == 404
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(30)
    return [line for line in stderr.read_text().splitlines() if line.strip()]


def _parsed(lines: list[str]) -> list[dict[str, object]]:
    not_json = []
    parsed = []
    for line in lines:
        try:
            value = json.loads(line)
        except ValueError:
            not_json.append(line)
            continue
        if isinstance(value, dict):
            parsed.append(value)
        else:
            not_json.append(line)
    assert not_json == [], "lines that are not JSON objects:\n" + "\n".join(not_json)
    return parsed


def test_every_line_of_serve_is_json(settings: Settings, tmp_path: Path) -> None:
    records = _parsed(_serve_and_collect(settings, tmp_path))
    uvicorn = [r for r in records if r.get("logger") == "uvicorn.error"]
    assert any("Application startup complete" in str(r["event"]) for r in uvicorn), records
    assert any("Shutting down" in str(r["event"]) for r in uvicorn), records
    assert all("timestamp" in r and "level" in r for r in records)
    requests = [r for r in records if r.get("event") == "request"]
    assert {r["route"] for r in requests} >= {"/livez", "unmatched"}
    assert all(isinstance(r["duration_ms"], float | int) for r in requests)
    assert not [r for r in records if r.get("logger") == "uvicorn.access"]  # logged once


def test_every_line_of_serve_with_workers_is_json(settings: Settings, tmp_path: Path) -> None:
    records = _parsed(_serve_and_collect(settings, tmp_path, "--workers", "2"))
    assert any(r.get("logger") == "uvicorn.error" for r in records), records

"""Misconfiguration ends in one line naming the setting and what to do, and exit status 2:
`psvs-ledger` run as an operator runs it (a process of its own), before anything starts."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import pytest

from tests.support.processes import free_port

PSVS_LEDGER = str(Path(sys.executable).parent / "psvs-ledger")
URL_HINT = "postgresql://USER:PASSWORD@HOST:PORT/DATABASE"


def _run(
    tmp_path: Path, *args: str, timeout: float = 60, **settings: str
) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("LEDGER_")}
    env["LEDGER_DATA_DIR"] = str(tmp_path / "data")
    env.update({f"LEDGER_{name.upper()}": value for name, value in settings.items()})
    return subprocess.run(
        [PSVS_LEDGER, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _one_line(done: subprocess.CompletedProcess[str], line: str) -> None:
    assert (done.returncode, done.stderr) == (2, f"psvs-ledger: {line}\n"), done.stderr
    assert done.stdout == ""


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port something else listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.mark.parametrize("command", [["serve"], ["accounts", "list"], ["projections", "status"]])
def test_a_malformed_database_url_is_one_line(tmp_path: Path, command: list[str]) -> None:
    done = _run(tmp_path, *command, database_url="not-a-url")
    _one_line(
        done,
        f"LEDGER_DATABASE_URL is not a PostgreSQL URL ('not-a-url'): set it to {URL_HINT},"
        " or unset it to use the embedded server",
    )


@pytest.mark.parametrize("command", [["serve"], ["verify"], ["demo"]])
def test_an_unreachable_database_is_one_line(tmp_path: Path, command: list[str]) -> None:
    done = _run(
        tmp_path,
        *command,
        database_url="postgresql://postgres:sesame@127.0.0.1:1/x",
        port=str(free_port()),
        timeout=30,
    )
    _one_line(
        done,
        "LEDGER_DATABASE_URL: cannot connect to the database at 127.0.0.1:1 (Connection"
        " refused): start the database or correct the setting",
    )
    assert "sesame" not in done.stderr


def test_a_password_in_a_malformed_url_is_not_repeated(tmp_path: Path) -> None:
    done = _run(tmp_path, "serve", database_url="postgres://u:sesame@host:port/db")
    assert done.returncode == 2 and "sesame" not in done.stderr
    assert done.stderr.count("\n") == 1


def test_a_short_session_key_is_one_line_not_a_500_on_every_page(
    tmp_path: Path, database_url: str
) -> None:
    done = _run(
        tmp_path,
        "serve",
        "--port",
        str(free_port()),
        database_url=database_url,
        session_key="twelve-chars",
    )
    _one_line(
        done,
        "LEDGER_SESSION_KEY is too short (12 characters; at least 32): set a longer key or"
        " unset it to use a generated one",
    )


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_busy_port_is_one_line_before_the_database_starts(
    tmp_path: Path, busy_port: int, workers: str
) -> None:
    # No LEDGER_DATABASE_URL: were the database started first, the embedded one would be.
    done = _run(tmp_path, "serve", "--workers", workers, port=str(busy_port))
    _one_line(
        done,
        f"LEDGER_PORT {busy_port} is in use on 127.0.0.1: stop what listens there, or choose"
        " a free port with LEDGER_PORT or --port",
    )
    assert not (tmp_path / "data" / "postgres").exists()

    by_option = _run(tmp_path, "serve", "--port", str(busy_port))
    _one_line(
        by_option,
        f"--port {busy_port} is in use on 127.0.0.1: stop what listens there, or choose a free"
        " port with LEDGER_PORT or --port",
    )


@pytest.mark.parametrize(
    ("setting", "value", "line"),
    [
        (
            "port",
            "eighty",
            "LEDGER_PORT is invalid (Input should be a valid integer, unable to parse string as"
            " an integer, not 'eighty'): correct it, or unset it to use the default",
        ),
        (
            "environment",
            "prod",
            "LEDGER_ENVIRONMENT is invalid (Input should be 'development' or 'production', not"
            " 'prod'): correct it, or unset it to use the default",
        ),
        (
            "oidc_issuer",
            "http://id.example",
            "LEDGER_OIDC_ISSUER must be an https URL (http only on loopback): correct the"
            " settings it names",
        ),
        (
            "signing_key",
            "not a key",
            "LEDGER_SIGNING_KEY is unusable (neither PEM nor base64): set it to the base64 of a"
            " raw 32-byte Ed25519 key or the path of a PEM key file, or unset it to use a"
            " generated one",
        ),
        (
            "encryption_key",
            "c2hvcnQ=",
            "LEDGER_ENCRYPTION_KEY is unusable (an AES-256 key has 32 bytes, not 5): set it to"
            " base64 AES-256 keys (32 bytes each, separated by commas) or the path of a file of"
            " them, or unset it to use a generated one",
        ),
    ],
)
def test_an_invalid_setting_is_one_line(
    tmp_path: Path, setting: str, value: str, line: str
) -> None:
    _one_line(_run(tmp_path, "serve", **{setting: value}), line)  # type: ignore[arg-type]


def test_the_command_line_names_its_version_and_every_default(tmp_path: Path) -> None:
    done = _run(tmp_path, "--version")
    assert (done.returncode, done.stdout) == (0, f"psvs-ledger {version('psvs-ledger')}\n")
    serve = _run(tmp_path, "serve", "--help").stdout
    assert "(default: 1)" in serve and "(default: LEDGER_PORT, 8000)" in serve
    demo = _run(tmp_path, "demo", "--help").stdout
    assert "{small,large}" in demo and "(default: large)" in demo
    bad = _run(tmp_path, "export", "overdue", "--division", "500108", "--as-of", "May", "f")
    assert bad.returncode == 2
    assert "argument --as-of: invalid day value: 'May'" in bad.stderr
    assert "invalid port value: '80a'" in _run(tmp_path, "serve", "--port", "80a").stderr


def test_commands_other_than_serve_do_not_warn_about_generated_keys(
    tmp_path: Path, database_url: str
) -> None:
    done = _run(tmp_path, "accounts", "list", database_url=database_url)
    assert done.returncode == 0, done.stderr
    assert "generated_signing_key_in_use" not in done.stderr
    assert "generated_encryption_key_in_use" not in done.stderr


def test_serve_warns_once_about_each_generated_key(tmp_path: Path, database_url: str) -> None:
    import signal
    import time
    import urllib.request

    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("LEDGER_")}
    env.update(LEDGER_DATA_DIR=str(tmp_path / "data"), LEDGER_DATABASE_URL=database_url)
    server = subprocess.Popen(
        [PSVS_LEDGER, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/livez", timeout=1):
                    break
            except OSError:
                time.sleep(0.2)
    finally:
        server.send_signal(signal.SIGTERM)
        _, stderr = server.communicate(timeout=30)
    assert stderr.count("generated_signing_key_in_use") == 1, stderr
    assert stderr.count("generated_encryption_key_in_use") == 1, stderr

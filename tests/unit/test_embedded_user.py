"""As root, the embedded PostgreSQL's system user gets no login shell, and the log says so."""

from __future__ import annotations

import json
import pwd
import subprocess
from types import SimpleNamespace
from typing import Any

import pytest

from api.core import embedded


@pytest.fixture
def as_root(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    commands: list[list[str]] = []
    monkeypatch.setattr(embedded.os, "geteuid", lambda: 0)  # type: ignore[attr-defined]
    monkeypatch.setattr(embedded.platform, "system", lambda: "Linux")  # type: ignore[attr-defined]

    def run(command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        commands.append(command)
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(embedded.subprocess, "run", run)  # type: ignore[attr-defined]
    return commands


def _logged(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.strip()]


@pytest.fixture(autouse=True)
def json_logs() -> None:
    from api.core import logs

    logs.configure("info", "json")


def test_a_missing_user_is_created_without_a_login_shell(
    as_root: list[list[str]], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def missing(name: str) -> Any:
        raise KeyError(name)

    monkeypatch.setattr(pwd, "getpwnam", missing)
    embedded._ensure_system_user()
    assert as_root == [
        ["useradd", "--system", "--user-group", "--no-create-home",
         "--shell", "/usr/sbin/nologin", "pgserver"],
    ]  # fmt: skip
    lines = [json.loads(line) for line in _logged(capsys)]
    assert [line["event"] for line in lines] == ["embedded_postgres_system_user_created"]
    assert lines[0]["user"] == "pgserver" and lines[0]["shell"] == "/usr/sbin/nologin"


def test_a_login_shell_is_taken_away_and_said(
    as_root: list[list[str]], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(pwd, "getpwnam", lambda name: SimpleNamespace(pw_shell="/bin/bash"))
    embedded._ensure_system_user()
    assert as_root == [["usermod", "--shell", "/usr/sbin/nologin", "pgserver"]]
    lines = [json.loads(line) for line in _logged(capsys)]
    assert [line["event"] for line in lines] == ["embedded_postgres_system_user_shell_removed"]
    assert lines[0]["was"] == "/bin/bash"


def test_a_user_without_login_shell_is_left_alone_silently(
    as_root: list[list[str]], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(pwd, "getpwnam", lambda name: SimpleNamespace(pw_shell="/usr/sbin/nologin"))
    embedded._ensure_system_user()
    assert as_root == []
    assert _logged(capsys) == []


def test_nothing_happens_when_not_root(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(embedded.os, "geteuid", lambda: 1000)  # type: ignore[attr-defined]
    monkeypatch.setattr(embedded.subprocess, "run", lambda *a, **k: pytest.fail("ran"))  # type: ignore[attr-defined]
    embedded._ensure_system_user()
    assert _logged(capsys) == []

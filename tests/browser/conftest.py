"""Browser fixtures: a real `psvs-ledger serve` on a loopback port with a database of its own,
and Debian's chromium driven by Playwright (never a downloaded browser).

Without /usr/bin/chromium the browser tests fail rather than skip: CI installs it (.ci/run).
Screenshots go to test-artifacts/ at the top of the checkout (ignored by git).
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

# The HTTP fixtures (an in-process app on a real PostgreSQL) for test_pages_http.py.
from tests.e2e.conftest import client, runtime  # noqa: F401
from tests.support.processes import CLI, Served, free_port, wait_ready

CHROMIUM = Path(os.environ.get("LEDGER_TEST_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
STOP_TIMEOUT_SECONDS = 30.0


@pytest.fixture
def served(database_url: str, tmp_path: Path) -> Iterator[Served]:
    port = free_port()
    env = {
        **os.environ,
        "LEDGER_DATABASE_URL": database_url,
        "LEDGER_DATA_DIR": str(tmp_path / "var"),
        "LEDGER_LOG_LEVEL": "warning",
    }
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(CLI), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, process, log)
        yield Served(url=url, env=env, log=log)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    """Debian's chromium, headless, through Playwright's own driver."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: apt-get install -y chromium fonts-wqy-zenhei"
            " (.ci/run does this); the browser tests never download a browser"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def console_errors() -> list[str]:
    """Errors the page logs to its console (a refused script or style, a failed request)."""
    return []


@pytest.fixture
def page(chromium: Browser, served: Served, console_errors: list[str]) -> Iterator[Page]:
    context = chromium.new_context(
        base_url=served.url, locale="zh-CN", timezone_id="Asia/Shanghai",
        viewport={"width": 1360, "height": 1000},
    )  # fmt: skip
    context.set_default_timeout(20_000)
    opened = context.new_page()
    opened.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    opened.on("pageerror", lambda error: console_errors.append(str(error)))
    try:
        yield opened
    finally:
        context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS

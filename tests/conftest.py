"""Shared fixtures: a real PostgreSQL for every database test.

`LEDGER_TEST_DATABASE_URL` names a server to use (CI sets it when the machine's PostgreSQL is
up); otherwise the embedded server is started in a temporary directory. Either way each test
gets a database of its own, created from scratch and dropped afterwards, so tests never see
each other's events.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from api.core.settings import Settings
from ledger.services.application import Ledger
from tests.support.postgres import open_ledger, postgres_url, with_dbname


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """A maintenance URL of a running PostgreSQL server."""
    configured = os.environ.get("LEDGER_TEST_DATABASE_URL")
    if configured:
        yield configured
        return
    from api.core.embedded import start_embedded_postgres, stop_embedded_postgres

    # Outside pytest's tmp_path: the server runs as another user when tests run as root.
    base = Path(tempfile.mkdtemp(prefix="psvs-tests-"))
    try:
        yield start_embedded_postgres(base / "postgres")
    finally:
        stop_embedded_postgres(base / "postgres")
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def database_url(server_url: str) -> Iterator[str]:
    """A fresh, empty database for one test."""
    name = f"psvs_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield postgres_url(with_dbname(server_url, name))
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Settings for one test: its own database, and its own data directory (where the service
    keeps a generated signing key), never the checkout's `var/`."""
    # One test is one client address opening many accounts and uploads: the per-address
    # sign-up and upload limits are tested on their own (tests/e2e/test_attachments_store.py).
    return Settings(
        database_url=database_url,
        read_wait_seconds=10,
        data_dir=tmp_path / "var",
        accounts_per_address_per_day=0,
        upload_rate_per_minute=0,
    )


@pytest.fixture
def postgres_ledger(database_url: str) -> Iterator[Ledger]:
    """A ledger on this test's own database, closed afterwards."""
    ledger = open_ledger(database_url)
    try:
        yield ledger
    finally:
        ledger.close()

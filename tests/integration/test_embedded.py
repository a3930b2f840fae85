"""The embedded PostgreSQL used when LEDGER_DATABASE_URL is unset."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from api.core.embedded import start_embedded_postgres, stop_embedded_postgres


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A fresh data directory, outside pytest's tmp_path on purpose.

    The server runs as another user when the tests run as root, and every new pytest session
    resets /tmp/pytest-of-<user> to mode 0700, which would lock that user out of its own data
    whenever someone starts another test run at the same time.
    """
    base = Path(tempfile.mkdtemp(prefix="psvs-embedded-"))
    try:
        yield base / "var" / "postgres"
    finally:
        stop_embedded_postgres(base / "var" / "postgres")
        shutil.rmtree(base, ignore_errors=True)


def _select_one(url: str) -> tuple[object, ...] | None:
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == ("ledger",)
        return conn.execute("SELECT 1").fetchone()


@pytest.mark.postgres
def test_embedded_postgres_starts_and_is_reused(data_dir: Path) -> None:
    url = start_embedded_postgres(data_dir)

    assert url.startswith("postgresql://")
    assert (data_dir / "PG_VERSION").is_file()
    assert _select_one(url) == (1,)

    again = start_embedded_postgres(data_dir)

    assert _select_one(again) == (1,)

    stop_embedded_postgres(data_dir)

    assert not (data_dir / "postmaster.pid").exists()

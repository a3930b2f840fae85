"""The same ledger scenarios as tests/unit/test_ledger_filing.py, on a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from api.runtime import eventsourcing_env
from api.settings import Settings
from ledger.application import Ledger
from tests.unit.test_ledger_filing import *  # noqa: F403 - re-run every scenario here


@pytest.fixture
def app(database_url: str) -> Iterator[Ledger]:
    ledger = Ledger(env=eventsourcing_env(database_url, Settings(database_url=database_url)))
    try:
        yield ledger
    finally:
        ledger.close()

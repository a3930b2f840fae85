"""The same ledger scenarios as tests/unit/test_ledger_filing.py, on a real PostgreSQL."""

from __future__ import annotations

import pytest

from ledger.services.application import Ledger
from tests.unit.test_ledger_filing import *  # noqa: F403 - re-run every scenario here


@pytest.fixture  # type: ignore[no-redef]  # the scenarios' `app`, on PostgreSQL
def app(postgres_ledger: Ledger) -> Ledger:
    return postgres_ledger

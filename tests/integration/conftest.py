"""Fixtures of the integration tests: the service's runtime on this test's own database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from api.core.runtime import Runtime, open_runtime
from api.core.settings import Settings


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    """The runtime with its view runners started (a test module may define its own)."""
    rt = open_runtime(settings, projections=True)
    try:
        yield rt
    finally:
        rt.close()

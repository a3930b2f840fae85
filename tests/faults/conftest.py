"""Fault tests: each starts its own server processes on its own embedded PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.faults import Deployment

pytestmark = pytest.mark.faults


@pytest.fixture
def deployment() -> Iterator[Deployment]:
    deployed = Deployment()
    try:
        yield deployed
    finally:
        deployed.close()

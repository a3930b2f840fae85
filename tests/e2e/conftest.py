"""HTTP fixtures: the real app on a real PostgreSQL, with its projection runner started, and the
accounts most tests act as (a test module may define its own)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.core.runtime import Runtime, open_runtime
from api.core.settings import Settings
from ledger.values import Role
from tests.support.codes import NANAN
from tests.support.http import UnitAccount, police_token, unit_account


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    rt = open_runtime(settings, projections=True)
    rt.start_projections()
    try:
        yield rt
    finally:
        rt.close()


@pytest.fixture
def client(settings: Settings, runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(settings, runtime=runtime)) as test_client:
        yield test_client


@pytest.fixture
def owner(client: TestClient) -> UnitAccount:
    """The unit, registered online by its own legal-person account."""
    return unit_account(client)


@pytest.fixture
def officer(runtime: Runtime) -> str:
    """An officer of 南岸区."""
    return police_token(runtime, Role.OFFICER, NANAN)


@pytest.fixture
def admin(runtime: Runtime) -> str:
    return police_token(runtime, Role.ADMIN, None, name="管理员")

"""HTTP fixtures: the real app on a real PostgreSQL, with its projection runner started."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.core.runtime import Runtime, open_runtime
from api.core.settings import Settings
from api.identity.tokens import new_token
from ledger.values import Role


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


def police_token(runtime: Runtime, role: Role, division: str | None, name: str = "警官") -> str:
    """What `psvs-ledger accounts create` does: a police-side account and its token."""
    token, digest = new_token()
    runtime.ledger.open_account(
        token_sha256=digest,
        role=role,
        name=name,
        division_code=division,
        today=date(2025, 5, 6),
    )
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}

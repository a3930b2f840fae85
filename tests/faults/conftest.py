"""Fault tests: each starts its own server processes on its own embedded PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.harness import Deployment

pytestmark = pytest.mark.faults
REPORT = Path("test-artifacts") / "faults.jsonl"


@pytest.fixture
def deployment() -> Iterator[Deployment]:
    deployed = Deployment()
    try:
        yield deployed
    finally:
        deployed.close()


def report(name: str, figures: dict[str, object]) -> None:
    """The counts each fault test measured, printed and kept in test-artifacts/faults.jsonl."""
    line = json.dumps({"fault": name, **figures})
    print(line)
    REPORT.parent.mkdir(exist_ok=True)
    with REPORT.open("a") as out:
        out.write(line + "\n")

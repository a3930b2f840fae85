"""A fresh database: the runtime creates every view, each at position 0 of an empty log."""

from __future__ import annotations

from api.core.runtime import open_runtime
from api.core.settings import Settings
from projections.catalog import VIEWS


def test_runtime_opens_on_a_fresh_database_and_views_start_at_zero(settings: Settings) -> None:
    runtime = open_runtime(settings, projections=True)
    try:
        assert runtime.head() == 0
        health = runtime.health()
        assert {h["name"] for h in health} == set(VIEWS)
        assert [h["position"] for h in health] == [0] * len(VIEWS)
        assert [e.generation for e in runtime.registry.all()] == [1] * len(VIEWS)
    finally:
        runtime.close()

"""The status view follows the log on a real PostgreSQL."""

from __future__ import annotations

from api.runtime import open_runtime
from api.settings import Settings


def test_runtime_opens_on_a_fresh_database_and_views_start_at_zero(settings: Settings) -> None:
    runtime = open_runtime(settings, projections=True)
    try:
        assert runtime.head() == 0
        assert [h["position"] for h in runtime.health()] == [0]
    finally:
        runtime.close()

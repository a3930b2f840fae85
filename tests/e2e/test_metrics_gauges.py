"""`/metrics` reports the views' lag, the last checkpoint's age and the pools' use
(the figures deploy/prometheus/alerts.yml and deploy/grafana/psvs-ledger.json use)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from api.core.runtime import Runtime


def _value(text: str, name: str, labels: str = "") -> float:
    found = re.search(rf"^{re.escape(name + labels)} (\S+)$", text, re.MULTILINE)
    assert found, f"{name}{labels} missing"
    return float(found.group(1))


def test_metrics_carry_lag_checkpoint_and_pool_gauges(client: TestClient, runtime: Runtime) -> None:
    assert runtime.wait_for_views(runtime.head(), 10, names=list(runtime.slots))
    text = client.get("/metrics").text
    assert _value(text, "ledger_metrics_database_up") == 1
    for view in ("status", "overdue", "audit", "chain"):
        assert _value(text, "ledger_view_lag_events", f'{{view="{view}"}}') >= 0
    # No checkpoint on an empty log yet: NaN, not a made-up age.
    age = _value(text, "ledger_checkpoint_age_seconds")
    assert age != age or age >= 0
    assert _value(text, "ledger_checkpoint_events_behind") >= 0
    for pool in ("ledger", "reads", "view_status"):
        assert _value(text, "ledger_db_pool_max", f'{{pool="{pool}"}}') >= 1
        assert _value(text, "ledger_db_pool_connections", f'{{pool="{pool}"}}') >= 0
        assert _value(text, "ledger_db_pool_waiting", f'{{pool="{pool}"}}') >= 0

"""The gauges `/metrics` sets at each scrape: the views' lag, the age of the chain's last signed
checkpoint, and the connection pools' use. Read from the database at scrape time, so every
process (an API with `--no-projections` too) reports the same lag and checkpoint figures.

deploy/prometheus/alerts.yml alerts on them; deploy/grafana/psvs-ledger.json draws them.
"""

from __future__ import annotations

from eventsourcing.postgres import PostgresDatastore
from prometheus_client import Gauge
from psycopg.sql import SQL

from api.core.database import ledger_datastore
from api.core.runtime import Runtime
from projections.chain import ChainView

HEAD = Gauge("ledger_log_head", "Position of the last event in the log")
VIEW_LAG = Gauge("ledger_view_lag_events", "Events the view has still to apply", ["view"])
CHECKPOINT_AGE = Gauge(
    "ledger_checkpoint_age_seconds",
    "Seconds since the chain view signed its last checkpoint (NaN before the first)",
)
CHECKPOINT_BEHIND = Gauge(
    "ledger_checkpoint_events_behind", "Events in the log after the last signed checkpoint"
)
POOL_SIZE = Gauge("ledger_db_pool_connections", "Connections a pool holds", ["pool"])
POOL_IDLE = Gauge("ledger_db_pool_available", "Connections a pool holds unused", ["pool"])
POOL_MAX = Gauge("ledger_db_pool_max", "Connections a pool may open", ["pool"])
POOL_WAITING = Gauge("ledger_db_pool_waiting", "Requests waiting for a connection", ["pool"])
UP = Gauge("ledger_metrics_database_up", "1 when the scrape could read the database")


def pools(runtime: Runtime) -> dict[str, PostgresDatastore]:
    """This process's pools: the ledger's, the readers', and one per view."""
    found = {"ledger": ledger_datastore(runtime.ledger), "reads": runtime.reads}
    for name, slot in runtime.slots.items():
        found[f"view_{name}"] = slot.view.datastore
    return found


def update(runtime: Runtime) -> None:
    """Sets the gauges (a database that is away sets `ledger_metrics_database_up` 0)."""
    for name, datastore in pools(runtime).items():
        pool = datastore.pool
        stats = pool.get_stats()
        POOL_SIZE.labels(name).set(stats.get("pool_size", 0))
        POOL_IDLE.labels(name).set(stats.get("pool_available", 0))
        POOL_MAX.labels(name).set(pool.max_size)
        POOL_WAITING.labels(name).set(stats.get("requests_waiting", 0))
    try:
        head = runtime.head()
        for name in runtime.slots:
            VIEW_LAG.labels(name).set(max(head - runtime.view_position(name), 0))
        with runtime.reads.transaction(commit=False) as curs:
            curs.execute(
                SQL(
                    "SELECT max(position) AS position,"
                    " extract(epoch FROM now() - max(signed_at)) AS age FROM {t}"
                ).format(t=ChainView.read_table("checkpoints"))
            )
            row = curs.fetchone()
    except Exception:  # the database is away: /readyz says so; the figures are stale
        UP.set(0)
        return
    UP.set(1)
    HEAD.set(head)
    position = row["position"] if row else None
    age = row["age"] if row else None
    CHECKPOINT_AGE.set(float(age) if age is not None else float("nan"))
    CHECKPOINT_BEHIND.set(head - int(position) if position is not None else head)

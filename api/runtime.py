"""The composition root of the back end: the database, the ledger, the views and their runners."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.utils import Environment
from psycopg.conninfo import conninfo_to_dict

from api.embedded import start_embedded_postgres, stop_embedded_postgres
from api.settings import Settings
from ledger.application import Ledger
from ledger.rules import Rules, load_rules
from projections.runner import BatchRunner
from projections.status import StatusProjection, StatusView


def database_url(settings: Settings) -> str:
    """The configured database, or the embedded one started under the data directory."""
    if settings.database_url:
        return settings.database_url
    return start_embedded_postgres(settings.data_dir / "postgres")


def embedded_dir(settings: Settings) -> Path | None:
    return None if settings.database_url else settings.data_dir / "postgres"


def eventsourcing_env(url: str, settings: Settings) -> dict[str, str]:
    """The library's POSTGRES_* settings for `url` (a socket directory is a valid host)."""
    params = conninfo_to_dict(url)
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "CREATE_TABLE": "y",
        "POSTGRES_DBNAME": str(params.get("dbname", "postgres")),
        "POSTGRES_HOST": str(params.get("host", "127.0.0.1")),
        "POSTGRES_PORT": str(params.get("port", "5432")),
        "POSTGRES_USER": str(params.get("user", "postgres")),
        "POSTGRES_PASSWORD": str(params.get("password", "")),
        "POSTGRES_POOL_SIZE": str(settings.pool_size),
        "POSTGRES_MAX_OVERFLOW": str(settings.pool_size),
        "POSTGRES_LOCK_TIMEOUT": "10",
        "POSTGRES_PRE_PING": "y",
        "POSTGRES_CONNECT_TIMEOUT": "5",
    }
    return env


@dataclass
class Runtime:
    url: str
    ledger: Ledger
    rules: Rules
    status_view: StatusView
    settings_read_wait: float = 5.0
    runners: list[BatchRunner] = field(default_factory=list)
    embedded: Path | None = None

    def start_projections(self) -> None:
        for runner in self.runners:
            runner.start()

    def wait_for_views(self, position: int, timeout: float) -> bool:
        """True once the status view has processed `position`."""
        if self.runners:
            return self.runners[0].wait(position, timeout)
        try:
            self.status_view.wait(self.ledger.name, position, timeout=timeout)
        except TimeoutError:
            return False
        return True

    def head(self) -> int:
        return self.ledger.recorder.max_notification_id() or 0

    def health(self) -> list[dict[str, Any]]:
        return [runner.health() for runner in self.runners]

    def close(self) -> None:
        for runner in self.runners:
            runner.stop()
        self.ledger.close()
        self.status_view.datastore.close()
        if self.embedded is not None:
            # Let go of the embedded server; it stops when no other process holds it.
            stop_embedded_postgres(self.embedded)


def open_runtime(settings: Settings, *, projections: bool) -> Runtime:
    url = database_url(settings)
    env = eventsourcing_env(url, settings)
    rules = load_rules(settings.rules)
    ledger = Ledger(env=env, rules=rules)
    factory = InfrastructureFactory.construct(Environment(StatusProjection.name, env))
    view = cast(StatusView, factory.tracking_recorder(StatusView))
    runtime = Runtime(
        url=url,
        ledger=ledger,
        rules=rules,
        status_view=view,
        settings_read_wait=settings.read_wait_seconds,
        embedded=embedded_dir(settings),
    )
    if projections:
        runtime.runners.append(
            BatchRunner(app=ledger, projection=StatusProjection(view), conninfo=lambda: url)
        )
    return runtime

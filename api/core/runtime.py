"""The composition root of the back end: the database, the ledger, the views and their runners.

Every entry point builds its ledger here (`build_ledger`, `open_runtime`): `serve` and its
workers, the projection worker, the command line. This is where infrastructure is wired: psycopg's
pipeline fix (api/core/psycopg_fix.py), the filings' group commit with its advisory locks, and who
keeps the views (`ViewsKept`):

- "here": this process runs each view's runner (`projections run`, the projection worker, tests);
- "worker": a projection worker process, started and supervised by this one
  (api/core/projection_worker.py), keeps them; this process observes their positions (`serve`);
- "elsewhere": another process keeps them; this one observes (`serve --no-projections`, the
  workers of `serve --workers N`, whose parent supervises the projection worker);
- "none": no runner at all; a wait on a view reads its position from the database (commands).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

import psycopg
from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.postgres import PostgresDatastore, PostgresFactory
from eventsourcing.utils import Environment
from psycopg.conninfo import conninfo_to_dict

from api.core.database import analyze_if_never_analyzed, ledger_datastore, protect_event_tables
from api.core.embedded import start_embedded_postgres, stop_embedded_postgres
from api.core.keys import load_cipher, view_configuration
from api.core.psycopg_fix import install_pipeline_flush
from api.core.settings import Settings
from ledger.rules import Rules, calendar_version, rules_from_text, rules_text
from ledger.services.application import Ledger
from ledger.storage.crypto import FieldCipher
from ledger.storage.postgres import SubjectKeys, advisory_locks
from projections.base import ViewRecorder, physical_prefix
from projections.catalog import VIEWS
from projections.event_items import installed_cipher, use_cipher
from projections.registry import Registry
from projections.runner import REGISTRY_MAX_AGE_SECONDS, BatchRunner, ViewSlot

if TYPE_CHECKING:
    from api.core.projection_worker import ProjectionWorker

ViewsKept = Literal["here", "worker", "elsewhere", "none"]
_KEPT: dict[bool, ViewsKept] = {True: "here", False: "none"}

# The view whose rules system responses use (due dates, lateness), so both always agree.
RULES_VIEW = "overdue"
# Views keep few connections: one writer thread each, plus a spare for a rebuild switch.
VIEW_POOL_SIZE = 2
# A view's pool opens none at start: its runner's batches and the readers connect on demand.
VIEW_POOL_OPEN = 0
# How long a view's batch transaction may sit between statements (the server's guard).
VIEW_TRANSACTION_SECONDS = 120
# Connections a pool opens at start; it grows to the configured size under load.
POOL_OPEN = 1
# A pool closes one connection above its minimum per this many idle seconds (psycopg's 600 kept
# the connections a start-up's burst opened for half an hour). docs/operations.md counts them.
POOL_IDLE_SECONDS = 60.0
WAIT_POLL_SECONDS = 0.05


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
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "CREATE_TABLE": "y",
        "POSTGRES_DBNAME": str(params.get("dbname", "postgres")),
        "POSTGRES_HOST": str(params.get("host", "127.0.0.1")),
        "POSTGRES_PORT": str(params.get("port", "5432")),
        "POSTGRES_USER": str(params.get("user", "postgres")),
        "POSTGRES_PASSWORD": str(params.get("password", "")),
        # The library opens POOL_SIZE connections at once and grows by MAX_OVERFLOW on demand.
        "POSTGRES_POOL_SIZE": str(min(POOL_OPEN, settings.pool_size)),
        "POSTGRES_MAX_OVERFLOW": str(max(settings.pool_size - POOL_OPEN, 0)),
        "POSTGRES_LOCK_TIMEOUT": "10",
        "POSTGRES_PRE_PING": "y",
        "POSTGRES_CONNECT_TIMEOUT": "5",
    }


@dataclass
class Runtime:
    url: str
    env: dict[str, str]
    ledger: Ledger
    registry: Registry
    reads: PostgresDatastore
    configured_rules: str
    slots: dict[str, ViewSlot] = field(default_factory=dict)
    settings_read_wait: float = 5.0
    runners: list[BatchRunner] = field(default_factory=list)
    embedded: Path | None = None
    # Gives a view what it may not read from settings itself (the chain view its signing key).
    configure_view: Callable[[ViewRecorder], None] | None = None
    # The cipher views and responses used before this runtime installed its ledger's.
    previous_cipher: FieldCipher | None = None
    # The projection worker process this one supervises (`serve`), if any.
    worker: ProjectionWorker | None = None

    # --- views ------------------------------------------------------------------------------
    def open_view(self, kind: type[ViewRecorder], generation: int, rules: Rules) -> ViewRecorder:
        """One generation of a view, its tables created if new, applying `rules`."""
        env = {
            **self.env,
            "POSTGRES_POOL_SIZE": str(VIEW_POOL_OPEN),
            "POSTGRES_MAX_OVERFLOW": str(1 + VIEW_POOL_SIZE - VIEW_POOL_OPEN),
            # A batch folds its page inside its transaction; on a busy machine a page of a
            # rebuild can take longer than the library's 5 s idle-in-transaction default.
            "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": str(VIEW_TRANSACTION_SECONDS),
        }
        factory = InfrastructureFactory.construct(
            Environment(physical_prefix(kind.name, generation), env)
        )
        view = cast(ViewRecorder, factory.tracking_recorder(kind))
        _shrink_idle(view.datastore)
        view.rules = rules
        if self.configure_view is not None:
            self.configure_view(view)
        return view

    def _slot(self, kind: type[ViewRecorder]) -> ViewSlot:
        entry = self.registry.get(kind.name)
        if entry is None:
            first = self.open_view(kind, 1, _rules(self.configured_rules))
            entry = self.registry.ensure(
                kind.name,
                rules_toml=self.configured_rules,
                calendar_version=calendar_version(),
                bind=first.bind_readers(),
            )
            if entry.generation != 1:  # another process created the row meanwhile
                first.datastore.close()
                first = self.open_view(kind, entry.generation, entry.rules)
            view = first
        else:
            view = self.open_view(kind, entry.generation, entry.rules)
        return ViewSlot(
            name=kind.name,
            open=lambda generation, rules: self.open_view(kind, generation, rules),
            registry=self.registry,
            view=view,
        )

    @property
    def rules(self) -> Rules:
        """The rules of the live overdue view (the status view's before that one exists)."""
        slot = self.slots.get(RULES_VIEW) or self.slots["status"]
        slot.refresh(max_age=REGISTRY_MAX_AGE_SECONDS)
        return slot.rules

    @property
    def status_view(self) -> ViewRecorder:
        return self.slots["status"].view

    def start_projections(self) -> None:
        if self.worker is not None:
            self.worker.start()
        for runner in self.runners:
            runner.start()

    def runner(self, name: str) -> BatchRunner | None:
        return next((r for r in self.runners if r.name == name), None)

    def view_position(self, name: str) -> int:
        slot = self.slots[name]
        slot.refresh()
        return slot.view.max_tracking_id(self.ledger.name) or 0

    def wait_for_views(
        self, position: int, timeout: float, names: Iterable[str] = ("status",)
    ) -> bool:
        """True once the named views have processed `position`."""
        deadline = time.monotonic() + timeout
        for name in names:
            runner = self.runner(name)
            if runner is not None:
                if not runner.wait(position, max(deadline - time.monotonic(), 0.0)):
                    return False
                continue
            # No runner here (`serve --no-projections`): another process keeps the view.
            while self.view_position(name) < position:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(WAIT_POLL_SECONDS)
        return True

    def head(self) -> int:
        return self.ledger.recorder.max_notification_id() or 0

    def health(self) -> list[dict[str, Any]]:
        """Each view's position, lag and error; a projection worker that is down or keeps
        dying is every view's error."""
        problem = self.worker.problem() if self.worker is not None else None
        views = [runner.health() for runner in self.runners]
        for view in views:
            view["error"] = view["error"] or problem
        return views

    def close(self) -> None:
        if self.worker is not None:
            self.worker.stop()
        for runner in self.runners:
            runner.stop()
        self.ledger.close()
        for slot in self.slots.values():
            slot.view.datastore.close()
        self.reads.close()
        if installed_cipher() is self.ledger.cipher:
            use_cipher(self.previous_cipher)
        if self.embedded is not None:
            # Let go of the embedded server; it stops when no other process holds it.
            stop_embedded_postgres(self.embedded)


def _shrink_idle(datastore: PostgresDatastore) -> None:
    """Idle connections above the pool's minimum close after POOL_IDLE_SECONDS (from the next
    check on: a pool already open checks first after psycopg's ten minutes)."""
    datastore.pool.max_idle = POOL_IDLE_SECONDS


def _rules(text: str) -> Rules:
    return rules_from_text(text, source="the configured rules")


def build_ledger(
    settings: Settings,
    url: str | None = None,
    *,
    rules: Rules | None = None,
    cipher: FieldCipher | None = None,
) -> Ledger:
    """The ledger as every entry point uses it, on `url` (default: the configured database)."""
    install_pipeline_flush()  # before the event store's first write in this process
    url = url or database_url(settings)
    ledger = Ledger(env=eventsourcing_env(url, settings), rules=rules, cipher=cipher)
    ledger.token_police_days = settings.police_token_days
    ledger.token_unit_days = settings.unit_token_days
    ledger.seal_names = settings.seal_names
    # Concurrent filings share transactions; API processes take turns on a division-year.
    ledger.share_transactions(hold=partial(advisory_locks, ledger_datastore(ledger)))
    return ledger


def open_runtime(settings: Settings, *, projections: bool | ViewsKept) -> Runtime:
    """The back end for one process; `projections` says who keeps the views (`ViewsKept`;
    True is "here", False "none")."""
    kept: ViewsKept = projections if isinstance(projections, str) else _KEPT[projections]
    url = database_url(settings)
    with _schema_lock(url):
        runtime = _open(settings, url)
    if kept == "none":
        return runtime
    runtime.runners = [
        BatchRunner(
            app=runtime.ledger,
            slot=slot,
            conninfo=lambda: url,
            exclusive=True,
            observes=kept != "here",
        )
        for slot in runtime.slots.values()
    ]
    if kept == "worker":
        from api.core.projection_worker import ProjectionWorker

        runtime.worker = ProjectionWorker(settings.model_copy(update={"database_url": url}))
    return runtime


@contextmanager
def _schema_lock(url: str) -> Iterator[None]:
    """Serialises start-ups on one database: processes starting together (the workers of
    `serve --workers`, a worker and `projections run`) would otherwise race to create the
    same tables, which CREATE TABLE IF NOT EXISTS does not survive."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(hashtextextended('psvs-ledger schema', 0))")
        yield


def _open(settings: Settings, url: str) -> Runtime:
    env = eventsourcing_env(url, settings)
    configured = rules_text(settings.rules)
    ledger = build_ledger(settings, url, rules=_rules(configured), cipher=load_cipher(settings))
    protect_event_tables(ledger)
    analyze_if_never_analyzed(ledger)
    # Persons' data keys (crypto-shredding, ledger/storage/crypto.py) live in PostgreSQL; the views
    # and responses of this process open sealed fields with the ledger's own cipher.
    subjects = SubjectKeys(ledger_datastore(ledger))
    subjects.create_table()
    ledger.cipher.subjects = subjects
    previous_cipher = use_cipher(ledger.cipher)
    factory = cast(PostgresFactory, InfrastructureFactory.construct(Environment("reads", env)))
    reads = factory.datastore
    _shrink_idle(reads)
    _shrink_idle(ledger_datastore(ledger))
    runtime = Runtime(
        url=url,
        env=env,
        ledger=ledger,
        registry=Registry(reads),
        reads=reads,
        configured_rules=configured,
        settings_read_wait=settings.read_wait_seconds,
        embedded=embedded_dir(settings),
        configure_view=view_configuration(settings),
        previous_cipher=previous_cipher,
    )
    for kind in VIEWS.values():
        runtime.slots[kind.name] = runtime._slot(kind)
    return runtime

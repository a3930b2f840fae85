"""The ledger's eventsourcing Application: commands in domain values, and reads of the log.

`Ledger` is the shared base (`ledger.services.base`) plus one mixin per group of commands:
accounts and units (`unit_commands`), systems (`system_commands`) and the police side
(`police_commands`). Callers import `Ledger`, `RequestKey`, `Outcome` and
`MAX_SEQUENCE_ATTEMPTS` from here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from functools import partial
from typing import Any

from eventsourcing.persistence import JSONTranscoder

from ledger.rules import Rules, load_rules
from ledger.sequence import FilingSequence
from ledger.services.base import Outcome, RequestKey
from ledger.services.police import PoliceCommands
from ledger.services.systems import MAX_SEQUENCE_ATTEMPTS, SystemCommands
from ledger.services.units import UnitCommands
from ledger.storage.crypto import FieldCipher
from ledger.storage.group_commit import GroupCommitter
from ledger.storage.postgres import advisory_locks, install_pipeline_flush
from ledger.storage.transcodings import register_ledger_transcodings

__all__ = ["MAX_SEQUENCE_ATTEMPTS", "Ledger", "Outcome", "RequestKey"]


class Ledger(UnitCommands, SystemCommands, PoliceCommands):
    """The filing ledger. Its events live in the `ledger_events` table."""

    name = "Ledger"
    snapshotting_intervals = {FilingSequence: 100}  # noqa: RUF012 - the library's class API
    env = {  # noqa: RUF012
        "AGGREGATE_CACHE_MAXSIZE": "5000",
        "POSTGRES_LOCK_TIMEOUT": "10",
        "POSTGRES_PRE_PING": "y",
    }

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        *,
        rules: Rules | None = None,
        cipher: FieldCipher | None = None,
    ):
        super().__init__(env)
        self.rules = rules or load_rules()
        # Seals personal numbers before they are stored. Without one (tests, in-memory
        # ledgers) a random key lives in memory only: nothing is ever stored in clear.
        self.cipher = cipher or FieldCipher.ephemeral()
        datastore = getattr(self.recorder, "datastore", None)  # PostgreSQL's; none in memory
        if datastore is not None:
            # The event store writes in psycopg's pipeline mode, which can hang on a large
            # write (ledger/storage/postgres.py); installing the fix again changes nothing.
            install_pipeline_flush()
        # Concurrent filings share transactions (ledger/storage/group_commit.py).
        self.filings = GroupCommitter(
            save=self.save,
            sequence=lambda d, y: self._sequence(d, y),
            outcome=Outcome,
            hold=None if datastore is None else partial(advisory_locks, datastore),
        )

    def close(self) -> None:
        self.filings.close()
        super().close()

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_ledger_transcodings(transcoder)

    def _take_snapshots(self, processing_event: Any) -> None:
        """Snapshots only speed up reads: once the events are committed, a failed snapshot
        must not turn the acknowledged write into an error (and a retry into a double)."""
        with contextlib.suppress(Exception):
            super()._take_snapshots(processing_event)

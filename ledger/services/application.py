"""The ledger's eventsourcing Application: commands in domain values, and reads of the log.

`Ledger` is the shared base (`ledger.services.base`) plus one mixin per group of commands:
accounts and units (`unit_commands`), systems (`system_commands`) and the police side
(`police_commands`). Callers import `Ledger`, `RequestKey`, `Outcome` and
`MAX_SEQUENCE_ATTEMPTS` from here.

The constructor wires no infrastructure: it starts no thread and patches nothing. The
composition root (api/core/runtime.py) decides whether concurrent filings share transactions
(`share_transactions`) and how the event store reaches PostgreSQL.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any
from uuid import UUID

from eventsourcing.application import ProjectorFunction, project_aggregate
from eventsourcing.persistence import JSONTranscoder, Transcoder

from ledger.rules import Rules, load_rules
from ledger.sequence import FilingSequence
from ledger.services.base import Outcome, RequestKey
from ledger.services.police import PoliceCommands
from ledger.services.systems import MAX_SEQUENCE_ATTEMPTS, SystemCommands
from ledger.services.units import UnitCommands
from ledger.storage.crypto import FieldCipher
from ledger.storage.group_commit import GroupCommitter
from ledger.storage.transcodings import FastJSONTranscoder, register_ledger_transcodings

__all__ = ["MAX_SEQUENCE_ATTEMPTS", "Ledger", "Outcome", "RequestKey"]

Hold = Callable[[Sequence[tuple[str, int]]], AbstractContextManager[Any]]


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
        # Each filing is saved in its own transaction until `share_transactions` is called.
        self.filings = self._committer(hold=None)
        self.filings.close()  # a closed committer files each filing alone, in its caller

    def share_transactions(self, hold: Hold | None = None) -> GroupCommitter:
        """From now on concurrent filings are saved together, by a committer thread
        (ledger/storage/group_commit.py); `hold` lets processes take turns on a division-year
        (`ledger.storage.postgres.advisory_locks` on PostgreSQL)."""
        self.filings.close()
        self.filings = self._committer(hold=hold)
        return self.filings

    def _committer(self, hold: Hold | None) -> GroupCommitter:
        return GroupCommitter(
            save=self.save,
            sequence=lambda d, y: self._sequence(d, y),
            outcome=Outcome,
            hold=hold,
        )

    def close(self) -> None:
        self.filings.close()
        super().close()

    def construct_transcoder(self) -> Transcoder:
        """The library's JSON format, by orjson (ledger/storage/transcodings.py)."""
        transcoder = FastJSONTranscoder()
        self.register_transcodings(transcoder)
        return transcoder

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_ledger_transcodings(transcoder)

    def take_snapshot(
        self,
        aggregate_id: UUID,
        version: int | None = None,
        projector_func: ProjectorFunction[Any, Any] = project_aggregate,
    ) -> None:
        """Snapshots only speed up reads: once the events are committed, a failed snapshot
        must not turn the acknowledged write into an error (and a retry into a double). The
        library's `save` takes them through this method, after the commit."""
        with contextlib.suppress(Exception):
            super().take_snapshot(aggregate_id, version, projector_func)

"""What every command of the ledger needs: finding aggregates, the caller's reach, and saving a
created aggregate once per Idempotency-Key. `Ledger` (ledger/services/application.py) is this base
plus the command groups: accounts (`accounts`), units and attachments (`units`), filing
(`filing`), systems (`systems`) and the police side (`police`), each a module beside this one.

Every command takes its caller, its dates and its request digest as arguments; nothing here
reads a clock. Uniqueness (a USCC, a filing number, an idempotency key, an expected version)
is enforced by the event store's (id, version) primary key, never by a check-then-write race.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, Notification
from eventsourcing.utils import get_topic

from ledger import codes
from ledger.access import may_see
from ledger.accounts import Account
from ledger.attachments import Attachment
from ledger.errors import IdempotencyKeyReused, NotFound
from ledger.idempotency import IdempotencyRecord
from ledger.ids import keyed_id, unit_id
from ledger.rules import Rules, forbidden_location
from ledger.storage.blobs import ATTACHMENT_GONE, BlobStore, MemoryBlobStore
from ledger.storage.crypto import FieldCipher
from ledger.storage.postgres import PostgresBlobStore
from ledger.systems import VideoSystem
from ledger.units import Unit
from ledger.validation import FieldRules
from ledger.values import FieldError

A = TypeVar("A", bound=Aggregate)


@dataclass(frozen=True)
class RequestKey:
    """An Idempotency-Key and the digest of the request it came with."""

    key: str
    digest: str


@dataclass(frozen=True)
class Outcome:
    """What a creating command produced; `replayed` when an idempotent retry found it."""

    aggregate: Any
    replayed: bool = False


class LedgerBase(Application[UUID]):
    """The ledger's shared reads and saves; the command groups build on it."""

    rules: Rules
    cipher: FieldCipher

    def field_rules(self, today: date) -> FieldRules:
        rules = self.rules
        return FieldRules(
            min_storage_days=rules.storage_min_days,
            forbidden_location=lambda text: forbidden_location(text, rules),
            today=today,
        )

    # --- generic reads ----------------------------------------------------------------------
    def _find(self, aggregate_id: UUID, kind: type[A], version: int | None = None) -> A | None:
        try:
            found: Aggregate = self.repository.get(aggregate_id, version=version)
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, kind) else None

    def _get(self, aggregate_id: UUID, kind: type[A], what: str) -> A:
        found = self._find(aggregate_id, kind)
        if found is None:
            raise NotFound(f"no such {what}")
        return found

    # Where attachment bytes live (ledger/storage/blobs.py); None: `attachment_blobs` beside the
    # events on PostgreSQL, memory otherwise. Set it before use for another store.
    blob_store: BlobStore | None = None

    @property
    def blobs(self) -> BlobStore:
        if self.blob_store is None:
            datastore = getattr(self.recorder, "datastore", None)
            self.blob_store = (
                MemoryBlobStore() if datastore is None else PostgresBlobStore(datastore)
            )
        return self.blob_store

    def _check_attachments(
        self, caller: Account, refs: Mapping[str, UUID | None], errors: list[FieldError]
    ) -> None:
        """Attachments named in a request must exist, have been uploaded by the caller, and
        still have their bytes. Naming one marks its bytes referenced now (`touch`), before the
        command saves: collection re-checks that mark, so it never takes bytes a command is
        about to reference (ledger/storage/blobs.py)."""
        for field, attachment_id in refs.items():
            if attachment_id is None:
                continue
            found = self._find(attachment_id, Attachment)
            if found is None or found.uploaded_by.account_id != str(caller.id):
                errors.append(FieldError(("body", field), "no such attachment of yours"))
            elif found.content is None and not self.blobs.touch(found.sha256):
                errors.append(FieldError(("body", field), ATTACHMENT_GONE))

    def notifications_of(self, *classes: type[Any], page: int = 1000) -> Iterator[Notification]:
        """Every stored event of `classes` (by their topics), in log order, `page` at a time."""
        topics = [get_topic(cls) for cls in classes]
        start = 1
        while True:
            found = self.recorder.select_notifications(start, page, topics=topics)
            yield from found
            if len(found) < page:
                return
            start = found[-1].id + 1

    # --- who sees what ----------------------------------------------------------------------
    def find_unit(self, uscc: str) -> Unit | None:
        return self._find(unit_id(codes.normalise_uscc(uscc)), Unit)

    @staticmethod
    def may_see_unit(caller: Account, unit: Unit) -> bool:
        return may_see(caller, uscc=unit.uscc, division_code=unit.division_code)

    @staticmethod
    def may_see_system(caller: Account, system: VideoSystem) -> bool:
        return may_see(caller, uscc=system.unit_uscc, division_code=system.division_code)

    def system_for(self, caller: Account, system_id: UUID) -> VideoSystem:
        """The system as it stands now, if the caller may see it."""
        system = self._find(system_id, VideoSystem)
        if system is None or not self.may_see_system(caller, system):
            raise NotFound("no such system")
        return system

    # --- idempotent creation ----------------------------------------------------------------
    def _replayed(self, caller: Account, request: RequestKey | None, kind: str) -> Outcome | None:
        if request is None:
            return None
        record = self._find(keyed_id("idempotency", str(caller.id), request.key), IdempotencyRecord)
        if record is None:
            return None
        if record.request_digest != request.digest or record.kind != kind:
            raise IdempotencyKeyReused(
                "this Idempotency-Key was used before with a different request"
            )
        first: Aggregate = self.repository.get(record.target_id, version=record.target_version)
        return Outcome(first, replayed=True)

    def _idempotency_records(
        self, caller: Account, request: RequestKey | None, kind: str, target: Aggregate
    ) -> list[IdempotencyRecord]:
        """The record that makes `request`'s Idempotency-Key name `target` (none without one)."""
        if request is None:
            return []
        return [
            IdempotencyRecord.record(
                account_id=str(caller.id),
                key=request.key,
                kind=kind,
                target_id=target.id,
                target_version=target.version,
                request_digest=request.digest,
            )
        ]

    def _save_created(
        self,
        caller: Account,
        request: RequestKey | None,
        kind: str,
        target: Aggregate,
        *others: Aggregate,
    ) -> Outcome | None:
        """Saves `target` (and `others`) with the idempotency record; None on a key collision
        that is not this caller's retry (the caller decides what that collision means)."""
        records = self._idempotency_records(caller, request, kind, target)
        try:
            self.save(target, *others, *records)
        except IntegrityError:
            replay = self._replayed(caller, request, kind)
            if replay is not None:
                return replay
            return None
        return Outcome(target)

"""Attachment bytes, kept outside the event log, by their SHA-256 (a content-addressed store).

The log records that an upload happened (`Attachment.Uploaded`, version 2: hash, size, media
type, file name, who); the bytes live in a `BlobStore`. On PostgreSQL that is the table
`attachment_blobs` (`ledger.storage.postgres.PostgresBlobStore`); in memory (unit tests) a dict.

Writing: the blob first, idempotently by hash (a second upload of the same bytes refreshes
`last_uploaded_at`), then the event. A crash between the two leaves at most a blob nothing
names, which collection removes.

Collection (`collect`): a blob is deleted when
- no attachment that a registration or filing references has its hash (references, read from
  the whole log: `Unit.Registered.authorization_letter_id` and `.business_licence_id`,
  `Unit.AgentAuthorised.authorization_letter_id`, the `paper_form_id` and `device_sheet_id` of
  `VideoSystem.Filed` and `.DiscoveredFiled`), and
- its last upload and its last reference check (`touch`, done by every command that names an
  attachment, before it saves) are both older than the retention (days).
The DELETE re-checks those times, so a command that named the attachment after the collector
read the log keeps the blob: the command's check touched it first, or found it gone and
refused. The events stay; the attachment then answers as gone (`AttachmentGone`, a `NotFound`).
Attachments of version 1 carry their bytes in the log and are never collected.

Extension point: any object with the `BlobStore` methods can be handed to the ledger
(`ledger.blob_store = ...`), e.g. one over an S3-compatible bucket (key = the hash; `touch`
and the times kept as object metadata or in a side table). Only the PostgreSQL table is built.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from uuid import UUID

from ledger.attachments import Attachment
from ledger.errors import NotFound

DEFAULT_RETENTION_DAYS = 30
SCAN_PAGE = 1000


ATTACHMENT_GONE = (
    "this attachment's content was collected (nothing referenced it in time): upload it again"
)


class AttachmentGone(NotFound):
    """The upload is recorded, but its bytes were collected: nothing referenced it in time."""

    title = "Gone"


@dataclass(frozen=True)
class BlobInfo:
    sha256: str
    size: int
    media_type: str
    last_uploaded_at: datetime
    last_referenced_at: datetime | None


class BlobStore(Protocol):
    """Where attachment bytes live, keyed by their SHA-256 (lower-case hex)."""

    def put(self, *, sha256: str, content: bytes, media_type: str) -> None:
        """Stores the bytes (idempotent by hash) and marks the hash uploaded now."""

    def get(self, sha256: str) -> bytes | None:
        """The bytes, or None when there are none (never stored, or collected)."""

    def touch(self, sha256: str) -> bool:
        """Marks the hash referenced now; False when its bytes are gone."""

    def stale(self, *, retention_days: int) -> list[BlobInfo]:
        """Blobs whose last upload and last reference are older than the retention."""

    def delete_stale(self, hashes: Sequence[str], *, retention_days: int) -> list[BlobInfo]:
        """Deletes those of `hashes` that are still stale (re-checked); returns them."""


@dataclass
class MemoryBlobStore:
    """A `BlobStore` in this process's memory (in-memory ledgers, unit tests)."""

    clock: Any = field(default=lambda: datetime.now(UTC))
    _rows: dict[str, tuple[bytes, BlobInfo]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def put(self, *, sha256: str, content: bytes, media_type: str) -> None:
        with self._lock:
            known = self._rows.get(sha256)
            info = BlobInfo(
                sha256, len(content), media_type, self.clock(),
                None if known is None else known[1].last_referenced_at,
            )  # fmt: skip
            self._rows[sha256] = (content if known is None else known[0], info)

    def get(self, sha256: str) -> bytes | None:
        found = self._rows.get(sha256)
        return None if found is None else found[0]

    def touch(self, sha256: str) -> bool:
        with self._lock:
            found = self._rows.get(sha256)
            if found is None:
                return False
            content, info = found
            self._rows[sha256] = (content, _replace_referenced(info, self.clock()))
            return True

    def stale(self, *, retention_days: int) -> list[BlobInfo]:
        cutoff = self.clock() - timedelta(days=retention_days)
        return [info for _, info in self._rows.values() if _older(info, cutoff)]

    def delete_stale(self, hashes: Sequence[str], *, retention_days: int) -> list[BlobInfo]:
        cutoff = self.clock() - timedelta(days=retention_days)
        deleted = []
        with self._lock:
            for sha256 in hashes:
                found = self._rows.get(sha256)
                if found is not None and _older(found[1], cutoff):
                    deleted.append(self._rows.pop(sha256)[1])
        return deleted


def _replace_referenced(info: BlobInfo, at: datetime) -> BlobInfo:
    return BlobInfo(info.sha256, info.size, info.media_type, info.last_uploaded_at, at)


def _older(info: BlobInfo, cutoff: datetime) -> bool:
    referenced = info.last_referenced_at
    return info.last_uploaded_at < cutoff and (referenced is None or referenced < cutoff)


# --- collection ---------------------------------------------------------------------------
def referencing_events() -> tuple[type, ...]:
    """The events that name attachments (imported here: ledger.storage.postgres imports this module,
    and it stays free of the aggregates)."""
    from ledger.accounts import Account
    from ledger.systems import VideoSystem
    from ledger.units import Unit

    return (
        Unit.Registered,
        Unit.AgentAuthorised,
        VideoSystem.Filed,
        VideoSystem.DiscoveredFiled,
        Account.Opened,  # a legal-person account's checked business licence
    )


ATTACHMENT_FIELDS = ("authorization_letter_id", "business_licence_id", "paper_form_id",
                     "device_sheet_id")  # fmt: skip


def references_of(event: Any) -> Iterator[UUID]:
    """The attachment ids one referencing event names."""
    sources = [vars(event)]
    filing = getattr(event, "filing", None)
    if isinstance(filing, dict):
        sources.append(filing)
    for source in sources:
        for name in ATTACHMENT_FIELDS:
            value = source.get(name)
            if value is not None:
                yield value if isinstance(value, UUID) else UUID(str(value))


@dataclass(frozen=True)
class LogScan:
    """What the whole log says about attachments: each upload's hash, and the referenced ones."""

    hashes: dict[UUID, str]
    referenced: set[UUID]
    events: int

    @property
    def referenced_hashes(self) -> set[str]:
        return {self.hashes[a] for a in self.referenced if a in self.hashes}


def scan_log(app: Any) -> LogScan:
    """Reads the log's uploads and referencing events (only those topics, 1,000 at a time)."""
    hashes: dict[UUID, str] = {}
    referenced: set[UUID] = set()
    events = 0
    for notification in app.notifications_of(
        Attachment.Uploaded, *referencing_events(), page=SCAN_PAGE
    ):
        event = app.mapper.to_domain_event(notification)
        events += 1
        if isinstance(event, Attachment.Uploaded):
            hashes[event.originator_id] = event.sha256
        else:
            referenced.update(references_of(event))
    return LogScan(hashes=hashes, referenced=referenced, events=events)


@dataclass(frozen=True)
class Collection:
    """One collection's outcome: the blobs deleted (or, dry, that would be), and what was kept."""

    deleted: list[BlobInfo]
    kept_referenced: int
    stale: int
    events_scanned: int
    dry_run: bool

    @property
    def bytes_freed(self) -> int:
        return sum(info.size for info in self.deleted)


def collect(
    app: Any, store: BlobStore, *, retention_days: int, dry_run: bool = False
) -> Collection:
    """Deletes the blobs no registration or filing references whose last upload and last
    reference check are older than `retention_days` (see the module's docstring)."""
    stale = store.stale(retention_days=retention_days)
    if not stale:
        return Collection([], 0, 0, 0, dry_run)
    scan = scan_log(app)
    keep = scan.referenced_hashes
    candidates = [info for info in stale if info.sha256 not in keep]
    kept = len(stale) - len(candidates)
    if dry_run:
        return Collection(candidates, kept, len(stale), scan.events, True)
    deleted = store.delete_stale([c.sha256 for c in candidates], retention_days=retention_days)
    return Collection(deleted, kept, len(stale), scan.events, False)

"""What the ledger needs of PostgreSQL beyond the eventsourcing library's own store: the one
module of `ledger` that speaks psycopg (pyproject.toml's import contract names it).

`advisory_locks`: API processes take turns on a division-year's filing sequence
(ledger/storage/group_commit.py).

The fix for psycopg's pipeline mode (a large write could hang) is in
`ledger/storage/psycopg_fix.py`, the one module that touches psycopg's internals.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from uuid import UUID

import psycopg

from ledger.ids import filing_sequence_id
from ledger.storage.blobs import BlobInfo
from ledger.storage.crypto import SubjectKey


@contextmanager
def advisory_locks(
    datastore: Any, places: Sequence[tuple[str, int]], *, timeout_s: float = 10.0
) -> Iterator[None]:
    """PostgreSQL session advisory locks on the filing sequences of `places` (taken in sorted
    order, so two committers never wait on each other in a circle), held on a connection of
    the store's pool until the batch is saved. A lock not had within `timeout_s` is gone
    without: the sequence's key still keeps the numbers right, only the batch may be refused."""
    with datastore.get_connection() as conn:
        conn.execute(f"SET lock_timeout = '{int(timeout_s * 1000)}ms'")
        try:
            for division_code, year in places:
                conn.execute(
                    "SELECT pg_advisory_lock(%s)", (sequence_lock_key(division_code, year),)
                )
        except psycopg.errors.LockNotAvailable:
            pass
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock_all()")
            conn.execute("RESET lock_timeout")  # the connection goes back to the pool


def sequence_lock_key(division_code: str, year: int) -> int:
    """The advisory lock key (a signed 64-bit integer) of a division-year's sequence."""
    return int.from_bytes(filing_sequence_id(division_code, year).bytes[:8], "big", signed=True)


# --- persons' data keys (crypto-shredding: ledger/storage/crypto.py) ------------------------------


class SubjectKeys:
    """`ledger.storage.crypto.SubjectKeyStore` in the table `subject_keys`: one row per person (an
    account holder, a unit's contact or legal representative), holding that person's data key
    wrapped by the ring, until an erasure deletes the key and records when (`erased_at`). The
    row stays, so an erased person never gets a new key. Outside the event log on purpose: it
    is the one place the ledger removes data."""

    TABLE = "subject_keys"

    def __init__(self, datastore: Any) -> None:
        self.datastore = datastore

    def create_table(self) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                "CREATE TABLE IF NOT EXISTS subject_keys ("
                " subject_id uuid PRIMARY KEY,"
                " wrapped_key text,"
                " created_at timestamptz NOT NULL DEFAULT now(),"
                " erased_at timestamptz,"
                " CHECK ((wrapped_key IS NULL) = (erased_at IS NOT NULL)))"
            )

    def get(self, subject_id: UUID) -> SubjectKey | None:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                "SELECT wrapped_key, erased_at FROM subject_keys WHERE subject_id = %s",
                (subject_id,),
            )
            row = curs.fetchone()
        if row is None:
            return None
        return SubjectKey(row["wrapped_key"], erased=row["erased_at"] is not None)

    def add(self, subject_id: UUID, wrapped_key: str) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                "INSERT INTO subject_keys (subject_id, wrapped_key) VALUES (%s, %s)"
                " ON CONFLICT (subject_id) DO NOTHING",
                (subject_id, wrapped_key),
            )

    def erase(self, subject_id: UUID) -> bool:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                "SELECT wrapped_key FROM subject_keys WHERE subject_id = %s FOR UPDATE",
                (subject_id,),
            )
            before = curs.fetchone()
            curs.execute(
                "INSERT INTO subject_keys (subject_id, wrapped_key, erased_at)"
                " VALUES (%s, NULL, now()) ON CONFLICT (subject_id) DO UPDATE"
                " SET wrapped_key = NULL,"
                " erased_at = COALESCE(subject_keys.erased_at, EXCLUDED.erased_at)",
                (subject_id,),
            )
        # The old row version, key and all, stays in the table's pages until a vacuum.
        with self.datastore.get_connection() as conn:
            conn.execute("VACUUM subject_keys")
        return before is not None and before["wrapped_key"] is not None


# --- attachment bytes (ledger/storage/blobs.py) ---------------------------------------------------
# The same lock as the runtime's start-up (api/core/runtime.py): processes starting together would
# otherwise race to create the table, which CREATE TABLE IF NOT EXISTS does not survive.
_SCHEMA_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended('psvs-ledger schema', 0))"
_BLOBS_CREATE = (
    """
    CREATE TABLE IF NOT EXISTS attachment_blobs (
        sha256 text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
        size integer NOT NULL CHECK (size >= 0),
        media_type text NOT NULL,
        content bytea NOT NULL,
        first_uploaded_at timestamptz NOT NULL DEFAULT now(),
        last_uploaded_at timestamptz NOT NULL DEFAULT now(),
        last_referenced_at timestamptz
    )
    """,
    "CREATE INDEX IF NOT EXISTS attachment_blobs_last_uploaded"
    " ON attachment_blobs (last_uploaded_at)",
)
_BLOB_COLUMNS = "sha256, size, media_type, last_uploaded_at, last_referenced_at"
_STALE = (
    "last_uploaded_at < now() - make_interval(days => %(days)s)"
    " AND (last_referenced_at IS NULL"
    " OR last_referenced_at < now() - make_interval(days => %(days)s))"
)


class PostgresBlobStore:
    """`ledger.storage.blobs.BlobStore` on the table `attachment_blobs`, beside the events (same
    database, the ledger's connection pool). Times are the database's `now()`."""

    def __init__(self, datastore: Any) -> None:
        self.datastore = datastore
        self._created = False

    def _ready(self) -> None:
        if self._created:
            return
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(_SCHEMA_LOCK)
            for statement in _BLOBS_CREATE:
                curs.execute(statement)
        self._created = True

    def put(self, *, sha256: str, content: bytes, media_type: str) -> None:
        self._ready()
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                "INSERT INTO attachment_blobs (sha256, size, media_type, content)"
                " VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (sha256) DO UPDATE SET last_uploaded_at = now()",
                (sha256, len(content), media_type, content),
            )

    def get(self, sha256: str) -> bytes | None:
        self._ready()
        with self.datastore.transaction(commit=False) as curs:
            curs.execute("SELECT content FROM attachment_blobs WHERE sha256 = %s", (sha256,))
            row = curs.fetchone()
        return None if row is None else bytes(row["content"])

    def touch(self, sha256: str) -> bool:
        self._ready()
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                "UPDATE attachment_blobs SET last_referenced_at = now() WHERE sha256 = %s",
                (sha256,),
            )
            return bool(curs.rowcount)

    def stale(self, *, retention_days: int) -> list[BlobInfo]:
        self._ready()
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                f"SELECT {_BLOB_COLUMNS} FROM attachment_blobs WHERE {_STALE}"
                " ORDER BY last_uploaded_at",
                {"days": retention_days},
            )
            return [BlobInfo(**row) for row in curs.fetchall()]

    def delete_stale(self, hashes: Sequence[str], *, retention_days: int) -> list[BlobInfo]:
        if not hashes:
            return []
        self._ready()
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                f"DELETE FROM attachment_blobs WHERE sha256 = ANY(%(hashes)s) AND {_STALE}"
                f" RETURNING {_BLOB_COLUMNS}",
                {"hashes": list(hashes), "days": retention_days},
            )
            return [BlobInfo(**row) for row in curs.fetchall()]

    def usage(self) -> tuple[int, int]:
        """How many blobs, and their bytes."""
        self._ready()
        with self.datastore.transaction(commit=False) as curs:
            curs.execute("SELECT count(*) AS n, coalesce(sum(size), 0) AS b FROM attachment_blobs")
            row = curs.fetchone()
        return (0, 0) if row is None else (int(row["n"]), int(row["b"]))

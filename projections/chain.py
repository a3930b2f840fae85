"""The chain view: every event's hash, linked to the one before it, and signed checkpoints.

The recipe of a hash (what an auditor recomputes by hand) is in projections/hashing.py. This
view applies it in log order: each batch starts from the last link in its own table (so a
rebuild, which starts from an empty generation, starts from the genesis hash "0" * 64), and
writes one row per event in `chain_links`.

Every `checkpoint_every` events (counted, not positions: positions have gaps) it signs a
checkpoint (position, events so far, head hash, key id) with the Ed25519 key it is given by
the runtime, and a batch that crossed such a boundary also signs its own last event, so the
head a catch-up ends on is signed too. Without a signer the view links events and signs
nothing. `signed_at` is when the row was written (the database's clock); it is not signed.

Unlike the other views it reads no facts: a link covers the *stored* bytes of each event
(canonicalised by the one reading, projections/reading/canonical.py), not what they mean, so
that `verify` can recompute it from `ledger_events` alone and any edit of the bytes shows.
"""

from __future__ import annotations

from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.postgres import PostgresDatastore
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL

from ledger.ids import event_id
from projections.base import Batch, ViewRecorder
from projections.hashing import GENESIS, Signer, link_hash

CHECKPOINT_EVERY = 1000

_LINK_COLUMNS = (
    "position",
    "seq",
    "event_id",
    "originator_id",
    "originator_version",
    "hash",
    "prev_hash",
)


class ChainView(ViewRecorder):
    """One link per event of the log, and signed checkpoints of the chain's head."""

    name = "chain"
    tables: ClassVar[dict[str, str]] = {
        "links": "position bigint PRIMARY KEY, seq bigint NOT NULL, event_id uuid NOT NULL,"
        " originator_id uuid NOT NULL, originator_version bigint NOT NULL,"
        " hash text NOT NULL, prev_hash text NOT NULL",
        "checkpoints": "position bigint PRIMARY KEY, events bigint NOT NULL,"
        " head_hash text NOT NULL, key_id text NOT NULL, signature text NOT NULL,"
        " signed_at timestamptz NOT NULL DEFAULT now()",
    }
    indexes: ClassVar[dict[str, tuple[str, ...]]] = {
        "links_originator": ("links", "originator_id, originator_version"),
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Set by the composition root (api/core/runtime.py), never read from settings here.
        self.signer: Signer | None = None
        self.checkpoint_every = CHECKPOINT_EVERY

    def apply(self, curs: Cursor[DictRow], batch: Batch) -> None:
        """Links the batch's events to the chain's last link and signs its checkpoints."""
        if not batch.notifications:
            return
        seq, prev = self._last_link(curs)
        rows: list[tuple[Any, ...]] = []
        checkpoints: list[tuple[int, int, str]] = []
        for notification in batch.notifications:
            originator_id = _uuid(notification.originator_id)
            public_id = event_id(originator_id, notification.originator_version)
            digest = link_hash(
                position=notification.id,
                originator_id=originator_id,
                originator_version=notification.originator_version,
                topic=notification.topic,
                state=bytes(notification.state),
                prev_hash=prev,
                event_uuid=public_id,
            )
            seq += 1
            rows.append(
                (
                    notification.id,
                    seq,
                    public_id,
                    originator_id,
                    notification.originator_version,
                    digest,
                    prev,
                )
            )
            if seq % self.checkpoint_every == 0:
                checkpoints.append((notification.id, seq, digest))
            prev = digest
        if checkpoints and checkpoints[-1][0] != rows[-1][0]:
            checkpoints.append((rows[-1][0], seq, prev))
        self._write_links(curs, rows)
        self._write_checkpoints(curs, checkpoints)

    def _last_link(self, curs: Cursor[DictRow]) -> tuple[int, str]:
        curs.execute(
            SQL("SELECT seq, hash FROM {t} ORDER BY position DESC LIMIT 1").format(
                t=self.table("links")
            )
        )
        row = curs.fetchone()
        return (int(row["seq"]), str(row["hash"])) if row else (0, GENESIS)

    def _write_links(self, curs: Cursor[DictRow], rows: list[tuple[Any, ...]]) -> None:
        columns = SQL(", ").join(SQL(c) for c in _LINK_COLUMNS)
        statement = SQL("COPY {t} ({columns}) FROM STDIN").format(
            t=self.table("links"), columns=columns
        )
        with curs.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)

    def _write_checkpoints(
        self, curs: Cursor[DictRow], checkpoints: list[tuple[int, int, str]]
    ) -> None:
        if self.signer is None or not checkpoints:
            return
        signer = self.signer
        curs.executemany(
            SQL(
                "INSERT INTO {t} (position, events, head_hash, key_id, signature)"
                " VALUES (%s, %s, %s, %s, %s)"
            ).format(t=self.table("checkpoints")),
            [
                (
                    position,
                    events,
                    head,
                    signer.key_id,
                    signer.sign_checkpoint(position=position, events=events, head_hash=head),
                )
                for position, events, head in checkpoints
            ],
        )


def _uuid(value: UUID | str) -> UUID:
    return value if isinstance(value, UUID) else UUID(value)


def chain_hashes(reads: PostgresDatastore, system_id: UUID) -> dict[int, tuple[str, str]]:
    """Each linked version of an aggregate: `{version: (hash, prev_hash)}`. Versions not yet
    linked (the view lags the log by a moment) are absent."""
    with reads.transaction(commit=False) as curs:
        curs.execute(
            SQL(
                "SELECT originator_version, hash, prev_hash FROM {v} WHERE originator_id = %s"
            ).format(v=ChainView.read_table("links")),
            (system_id,),
        )
        return {
            int(row["originator_version"]): (row["hash"], row["prev_hash"])
            for row in curs.fetchall()
        }


def hashes_at(reads: PostgresDatastore, positions: list[int]) -> dict[int, str]:
    """The hash of each linked event at `positions` (for the audit view and the feed)."""
    if not positions:
        return {}
    with reads.transaction(commit=False) as curs:
        curs.execute(
            SQL("SELECT position, hash FROM {v} WHERE position = ANY(%s)").format(
                v=ChainView.read_table("links")
            ),
            (positions,),
        )
        return {int(row["position"]): str(row["hash"]) for row in curs.fetchall()}

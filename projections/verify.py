"""Checks the log against its hash chain and the chain's signed checkpoints.

Recomputes every link from `ledger_events` in position order (projections/hashing.py), streamed
through server-side cursors in one REPEATABLE READ snapshot, and walks `chain_links` beside it.
Every checkpoint's signature is checked, and its head hash against the recomputed chain. The
first disagreement stops the walk and is named by position and kind:

- `changed`: the event at this position no longer hashes to its link (a field was edited, or
  the link was);
- `missing`: a linked event is gone (deleted);
- `inserted`: an event sits at a position the chain never linked (a forgery in a gap);
- `reordered`: the event at this position was linked at another position (rows swapped/moved);
- `bad signature` / `unknown key`: a checkpoint's signature does not hold;
- `checkpoint mismatch`: a signed head hash disagrees with the recomputed chain (the events
  and the links were rewritten together; the fault lies at or before that position).

Events past the chain view's last link are not linked yet: they are counted, not judged.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from eventsourcing.postgres import PostgresDatastore
from psycopg import Cursor
from psycopg.rows import DictRow, TupleRow, tuple_row
from psycopg.sql import SQL, Composed, Identifier

from projections.chain import ChainView
from projections.hashing import GENESIS, link_hash, signature_holds

FETCH_SIZE = 5000


@dataclass
class Checkpoints:
    count: int = 0
    verified: int = 0
    last_position: int | None = None
    last_head_hash: str | None = None
    key_ids: list[str] = field(default_factory=list)


@dataclass
class Verification:
    """What `verify` found; `verified` when the chain and every checkpoint hold."""

    verified: bool = True
    events: int = 0
    position: int = 0
    head_hash: str = GENESIS
    log_head: int = 0
    unlinked: int = 0
    first_bad_position: int | None = None
    problem: str | None = None
    detail: str | None = None
    checkpoints: Checkpoints = field(default_factory=Checkpoints)
    seconds: float = 0.0

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0

    def fail(self, position: int, problem: str, detail: str) -> None:
        self.verified = False
        self.first_bad_position, self.problem, self.detail = position, problem, detail

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "events_per_second": round(self.events_per_second)}


def _stream(
    curs: Cursor[DictRow], name: str, query: Composed, params: tuple[Any, ...] = ()
) -> Iterator[TupleRow]:
    """Rows of `query` from a server-side cursor, fetched FETCH_SIZE at a time."""
    with curs.connection.cursor(name=name, row_factory=tuple_row) as server:
        server.itersize = FETCH_SIZE
        server.execute(query, params)
        yield from server


def _value(curs: Cursor[DictRow], query: Composed, params: tuple[Any, ...] = ()) -> Any:
    curs.execute(query, params)
    row = curs.fetchone()
    return next(iter(row.values())) if row else None


def verify_chain(
    datastore: PostgresDatastore,
    *,
    public_keys: Mapping[str, bytes],
    events_table: str = "ledger_events",
) -> Verification:
    """Walks the whole log against the chain; `public_keys` maps key ids to raw Ed25519 keys
    that may have signed checkpoints."""
    started = time.perf_counter()
    with datastore.transaction(commit=False) as curs:
        result = _Walk(curs, events_table, public_keys).run()
    result.seconds = time.perf_counter() - started
    return result


class _Walk:
    """The merge of the log with the chain's links, in position order."""

    def __init__(self, curs: Cursor[DictRow], events_table: str, keys: Mapping[str, bytes]) -> None:
        self.curs, self.keys = curs, keys
        self.events, self.links = Identifier(events_table), ChainView.read_table("links")
        self.result = Verification()

    def run(self) -> Verification:
        curs, result = self.curs, self.result
        curs.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        max_id = SQL("SELECT max(notification_id) FROM {t}").format(t=self.events)
        result.log_head = _value(curs, max_id) or 0
        max_link = SQL("SELECT max(position) FROM {v}").format(v=self.links)
        result.position = _value(curs, max_link) or 0
        checkpoints = self._checkpoints()
        events = _stream(
            curs,
            "verify_events",
            SQL(
                "SELECT notification_id, originator_id, originator_version, topic, state"
                " FROM {t} WHERE notification_id <= %s ORDER BY notification_id"
            ).format(t=self.events),
            (result.position,),
        )
        links = _stream(
            curs,
            "verify_links",
            SQL(
                "SELECT position, originator_id, originator_version, hash, prev_hash"
                " FROM {v} ORDER BY position"
            ).format(v=self.links),
        )
        self._merge(events, links, checkpoints)
        if result.verified:
            for position in sorted(checkpoints):
                result.fail(position, "checkpoint mismatch", "it signs an event never linked")
                break
        unlinked = SQL("SELECT count(*) FROM {t} WHERE notification_id > %s").format(t=self.events)
        result.unlinked = _value(curs, unlinked, (result.position,)) or 0
        return result

    def _checkpoints(self) -> dict[int, DictRow]:
        self.curs.execute(
            SQL("SELECT * FROM {v} ORDER BY position").format(v=ChainView.read_table("checkpoints"))
        )
        rows = {int(row["position"]): row for row in self.curs.fetchall()}
        summary = self.result.checkpoints
        summary.count = len(rows)
        summary.key_ids = sorted({str(row["key_id"]) for row in rows.values()})
        return rows

    def _merge(
        self,
        events: Iterator[TupleRow],
        links: Iterator[TupleRow],
        checkpoints: dict[int, DictRow],
    ) -> None:
        result, prev = self.result, GENESIS
        event, link = next(events, None), next(links, None)
        while event is not None or link is not None:
            if link is None or (event is not None and event[0] < link[0]):
                assert event is not None
                return self._unlinked_event(event)
            if event is None or link[0] < event[0]:
                return self._lost_event(link)
            position, originator_id, version, topic, state = event
            if (originator_id, version) != (link[1], link[2]):
                return self._identity_changed(event)
            digest = link_hash(
                position=position,
                originator_id=originator_id,
                originator_version=version,
                topic=topic,
                state=state,
                prev_hash=prev,
            )
            if digest != link[3] or link[4] != prev:
                return result.fail(position, "changed", "the event does not hash to its link")
            result.events += 1
            result.head_hash = prev = digest
            checkpoint = checkpoints.pop(position, None)
            if checkpoint is not None and not self._checkpoint_holds(checkpoint):
                return None
            event, link = next(events, None), next(links, None)
        return None

    def _checkpoint_holds(self, row: DictRow) -> bool:
        result, position = self.result, int(row["position"])
        key = self.keys.get(row["key_id"])
        if key is None:
            result.fail(position, "unknown key", f"signed by key {row['key_id']}, not trusted")
            return False
        fields = {k: row[k] for k in ("position", "events", "head_hash", "key_id", "signature")}
        if not signature_holds(key, **fields):
            result.fail(position, "bad signature", "the checkpoint's signature does not hold")
            return False
        if row["head_hash"] != result.head_hash or row["events"] != result.events:
            result.fail(
                position,
                "checkpoint mismatch",
                "the signed head differs from the recomputed chain: events at or before"
                " this position were rewritten together with their links",
            )
            return False
        result.checkpoints.verified += 1
        result.checkpoints.last_position = position
        result.checkpoints.last_head_hash = result.head_hash
        return True

    def _linked_at(self, originator_id: Any, version: int) -> int | None:
        query = SQL(
            "SELECT position FROM {v} WHERE originator_id = %s AND originator_version = %s"
        ).format(v=self.links)
        found = _value(self.curs, query, (originator_id, version))
        return None if found is None else int(found)

    def _unlinked_event(self, event: TupleRow) -> None:
        self._misplaced(event, "inserted", "an event the chain never linked")

    def _lost_event(self, link: TupleRow) -> None:
        position = link[0]
        query = SQL(
            "SELECT notification_id FROM {t} WHERE originator_id = %s AND originator_version = %s"
        ).format(t=self.events)
        found = _value(self.curs, query, (link[1], link[2]))
        if found is not None:
            self.result.fail(
                position, "reordered", f"the event linked here now sits at position {found}"
            )
        else:
            self.result.fail(position, "missing", "the event linked here is gone")

    def _identity_changed(self, event: TupleRow) -> None:
        self._misplaced(event, "changed", "its aggregate id or version was changed")

    def _misplaced(self, event: TupleRow, kind: str, detail: str) -> None:
        """An event not linked at its position: `reordered` when the chain linked it at
        another, else `kind`."""
        position = event[0]
        linked = self._linked_at(event[1], event[2])
        if linked is not None:
            self.result.fail(
                position, "reordered", f"the event linked at position {linked} sits here"
            )
        else:
            self.result.fail(position, kind, detail)

"""Idempotency keys of creating writes.

A record's id is derived from (caller, key) and it is saved in the same transaction as what the
request created, so a retry, even a concurrent one, collides on the event store's primary key
instead of writing twice. The record keeps a digest of the request, so the same key with another
body is told apart, and the created aggregate's id and version, so the first response can be
rendered again exactly.
"""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate

from ledger.ids import keyed_id


class IdempotencyRecord(Aggregate):
    class Recorded(Aggregate.Created):
        kind: str
        target_id: UUID
        target_version: int
        request_digest: str

    def __init__(
        self, kind: str, target_id: UUID, target_version: int, request_digest: str
    ) -> None:
        self.kind = kind
        self.target_id = target_id
        self.target_version = target_version
        self.request_digest = request_digest

    @classmethod
    def record(
        cls,
        *,
        account_id: str,
        key: str,
        kind: str,
        target_id: UUID,
        target_version: int,
        request_digest: str,
    ) -> IdempotencyRecord:
        return cls._create(
            cls.Recorded,
            id=keyed_id("idempotency", account_id, key),
            kind=kind,
            target_id=target_id,
            target_version=target_version,
            request_digest=request_digest,
        )

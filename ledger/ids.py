"""Deterministic aggregate ids.

An id derived from what makes a thing unique (a USCC, a token hash, an idempotency key) turns a
second create into a write of the same (id, version 1) row, which the event store's primary key
refuses: uniqueness is enforced by the store, never by a check-then-write race.
"""

from __future__ import annotations

from uuid import UUID, uuid5

_NAMESPACE = UUID("5b0f7f8e-9a34-4c3e-8f4e-2d5a1f0c6b11")


def unit_id(uscc: str) -> UUID:
    return uuid5(_NAMESPACE, f"unit:{uscc}")


def credential_id(token_sha256: str) -> UUID:
    return uuid5(_NAMESPACE, f"credential:{token_sha256}")


def filing_sequence_id(division_code: str, year: int) -> UUID:
    return uuid5(_NAMESPACE, f"filing-sequence:{division_code}:{year}")


def keyed_id(kind: str, account_id: str, idempotency_key: str) -> UUID:
    """The id of what `account_id` creates under `idempotency_key` (scoped per caller)."""
    return uuid5(_NAMESPACE, f"{kind}:{account_id}:{idempotency_key}")


def event_id(originator_id: UUID, originator_version: int) -> UUID:
    """The stable public id of one stored event (an aggregate's id and version name it once
    and for ever); the feed, the audit view and the chain all use it."""
    return uuid5(_NAMESPACE, f"event:{originator_id}:{originator_version}")

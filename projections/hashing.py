"""The hash chain's recipe and the checkpoints' signatures: pure functions, no database.

Every event of the log is linked, in log order (ascending position), to the one before it:

    content = {
        "position":           the event's log position (notification id), an integer,
        "event_id":           ledger.ids.event_id(originator_id, originator_version), as text,
        "originator_id":      the aggregate's UUID, lower-case hyphenated text,
        "originator_version": the aggregate's version, an integer,
        "topic":              the stored topic, e.g. "ledger.systems:VideoSystem.Filed",
        "state":              the stored state bytes parsed as JSON (what the ledger's JSON
                              transcoder wrote, neither compressed nor encrypted),
        "prev_hash":          the previous event's hash; "0" * 64 for the first event,
    }
    hash = lower-case hex SHA-256 of the RFC 8785 (JCS) canonical JSON of `content`

If the state is not UTF-8 JSON that RFC 8785 can express (not JSON, NaN, an integer beyond
2**53), `content` has "state_base64" (standard base64 of the stored bytes) instead of "state".
Gaps between positions are normal (a failed insert consumes a number) and are not linked: the
next event simply names the previous *existing* one as its predecessor.

Because the hash covers the parsed state, re-spacing the stored JSON or re-ordering its keys
does not break the chain (it is the same content); changing any value, the topic, an id or a
version, deleting, inserting or re-ordering events does, from that event on.

A checkpoint signs, with Ed25519, the RFC 8785 canonical JSON of

    {"purpose": "psvs-ledger checkpoint", "position": p, "events": n, "head_hash": h,
     "key_id": k}

where `h` is the hash of the event at position `p`, `n` the number of events up to and
including it, and `k` the first 16 hex digits of the SHA-256 of the raw 32-byte public key. The
signature is stored in standard base64; anyone with the public key can check it offline.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ledger.ids import event_id
from projections.reading.canonical import dumps_with

GENESIS = "0" * 64
CHECKPOINT_PURPOSE = "psvs-ledger checkpoint"


def event_content(
    *,
    position: int,
    originator_id: UUID,
    originator_version: int,
    topic: str,
    prev_hash: str,
    event_uuid: UUID | None = None,
) -> dict[str, Any]:
    """The content of one link, without its state (see `link_hash`). `event_uuid`, when the
    caller has it already, must be `event_id(originator_id, originator_version)`."""
    if event_uuid is None:
        event_uuid = event_id(originator_id, originator_version)
    return {
        "position": position,
        "event_id": str(event_uuid),
        "originator_id": str(originator_id),
        "originator_version": originator_version,
        "topic": topic,
        "prev_hash": prev_hash,
    }


def canonical_content(content: dict[str, Any], state: bytes) -> bytes:
    """RFC 8785 bytes of `content` with the state added (parsed, or base64 as a fall-back)."""
    try:
        return dumps_with(content, key="state", json_bytes=state)
    except (ValueError, RecursionError, rfc8785.CanonicalizationError):
        # ValueError covers bytes that are not UTF-8 or not JSON.
        encoded = base64.b64encode(state).decode("ascii")
        return rfc8785.dumps({**content, "state_base64": encoded})


def link_hash(
    *,
    position: int,
    originator_id: UUID,
    originator_version: int,
    topic: str,
    state: bytes,
    prev_hash: str,
    event_uuid: UUID | None = None,
) -> str:
    """The hash of one event chained to `prev_hash` (the recipe in this module's docstring)."""
    content = event_content(
        position=position,
        originator_id=originator_id,
        originator_version=originator_version,
        topic=topic,
        prev_hash=prev_hash,
        event_uuid=event_uuid,
    )
    return hashlib.sha256(canonical_content(content, bytes(state))).hexdigest()


# --- checkpoints ------------------------------------------------------------------------------


def checkpoint_message(*, position: int, events: int, head_hash: str, key_id: str) -> bytes:
    """The exact bytes a checkpoint's signature covers."""
    return rfc8785.dumps(
        {
            "purpose": CHECKPOINT_PURPOSE,
            "position": position,
            "events": events,
            "head_hash": head_hash,
            "key_id": key_id,
        }
    )


def public_key_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id_of(public_key: bytes) -> str:
    """A short name of a raw public key: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(public_key).hexdigest()[:16]


@dataclass(frozen=True)
class Signer:
    """Signs checkpoints with one Ed25519 private key."""

    private_key: Ed25519PrivateKey

    @property
    def public_key(self) -> bytes:
        """The raw 32-byte public key (what outside parties are given)."""
        return public_key_bytes(self.private_key.public_key())

    @property
    def key_id(self) -> str:
        return key_id_of(self.public_key)

    @property
    def public_key_base64(self) -> str:
        return base64.b64encode(self.public_key).decode("ascii")

    @property
    def public_key_pem(self) -> str:
        return (
            self.private_key.public_key()
            .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
            .decode("ascii")
        )

    def sign_checkpoint(self, *, position: int, events: int, head_hash: str) -> str:
        """The base64 signature of a checkpoint at `position`."""
        message = checkpoint_message(
            position=position, events=events, head_hash=head_hash, key_id=self.key_id
        )
        return base64.b64encode(self.private_key.sign(message)).decode("ascii")


def signature_holds(
    public_key: bytes,
    *,
    position: int,
    events: int,
    head_hash: str,
    key_id: str,
    signature: str,
) -> bool:
    """True when `signature` is the key's signature of that checkpoint."""
    try:
        raw = base64.b64decode(signature, validate=True)
        Ed25519PublicKey.from_public_bytes(public_key).verify(
            raw,
            checkpoint_message(
                position=position, events=events, head_hash=head_hash, key_id=key_id
            ),
        )
    except (InvalidSignature, ValueError):
        return False
    return True

"""Field-level encryption of personal numbers (ID cards, phones) inside stored events.

A sealed value is the text `enc:v1:<key id>:<hint>:<base64url(nonce ‖ AES-256-GCM
ciphertext+tag)>`, where the hint is the masked form the ledger shows to those who may not
see the number (`500108********3018`, `139****5678`), so masking keeps working on sealed
values without the key; the field's name and the hint are the associated data (neither can
be changed, nor a value moved to another field). The
key id (the first 8 bytes of the key's SHA-256, hex) travels with the value, so keys rotate:
the first key of the ring seals, every key of the ring opens. Events are immutable and the
hash chain covers them, so a value sealed under an old key stays so; keep old keys in the
ring for as long as their values must be readable (dropping one erases them: crypto-shredding).

The ledger only ever stores sealed values; the hash chain and the audit view see ciphertext.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "enc:v1:"
KEY_BYTES = 32
NONCE_BYTES = 12


class SealError(ValueError):
    """A sealed value that no key of the ring opens, or that is not a sealed value."""


def key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:16]


def is_sealed(value: object) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def _parts(value: str) -> tuple[str, str, str]:
    """(key id, hint, payload) of a sealed value."""
    kid, _, rest = value.removeprefix(PREFIX).partition(":")
    hint, _, payload = rest.rpartition(":")
    return kid, hint, payload


def sealed_hint(value: str) -> str:
    """The masked form a sealed value carries in clear."""
    return _parts(value)[1]


def _associated(field: str, hint: str) -> bytes:
    return f"{field}\n{hint}".encode()


class FieldCipher:
    """AES-256-GCM over single fields; `keys[0]` seals, any of `keys` opens."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise ValueError("a field cipher needs at least one key")
        for key in keys:
            if len(key) != KEY_BYTES:
                raise ValueError(f"an AES-256 key has {KEY_BYTES} bytes, not {len(key)}")
        self._ring = {key_id(key): AESGCM(key) for key in keys}
        self.current = key_id(keys[0])

    @classmethod
    def ephemeral(cls) -> FieldCipher:
        """A random key held only in memory: for tests and in-memory ledgers."""
        return cls([AESGCM.generate_key(bit_length=256)])

    @property
    def key_ids(self) -> list[str]:
        return list(self._ring)

    def seal(self, plain: str, *, field: str, hint: str = "") -> str:
        """`plain` sealed under the current key; `hint` (a masked form) stays readable."""
        hint = hint.replace(":", "")
        nonce = os.urandom(NONCE_BYTES)
        associated = _associated(field, hint)
        sealed = self._ring[self.current].encrypt(nonce, plain.encode(), associated)
        payload = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
        return f"{PREFIX}{self.current}:{hint}:{payload}"

    def open(self, value: str, *, field: str) -> str:
        if not is_sealed(value):
            raise SealError("not a sealed value")
        kid, hint, payload = _parts(value)
        aead = self._ring.get(kid)
        if aead is None:
            raise SealError(f"no key {kid} in the ring")
        try:
            raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
            opened = aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _associated(field, hint))
            return opened.decode()
        except (InvalidTag, ValueError) as error:
            raise SealError("the sealed value does not open with its key") from error

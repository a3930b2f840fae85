"""Field-level encryption of personal data (ID cards, phones, names) inside stored events, and
its erasure by destroying a person's data key (crypto-shredding).

A sealed value is the text `enc:v2:<key id>:<base64url(nonce ‖ AES-256-GCM ciphertext+tag)>`;
the field's name and the key id are the associated data (a value cannot be moved to another
field, nor claimed by another key). Nothing of the number travels in clear: its masked form
(`500108********3018`, `139****5678`) is computed when it is shown, from the opened value, and
a value that no longer opens is shown as `ERASED`.

The key id says which key seals:

- a *ring* key id (16 hex digits: the first 8 bytes of the key's SHA-256), for a value that
  belongs to no erasable person. The first key of the ring seals, every key of the ring opens,
  so keys rotate; keep old keys in the ring for as long as their values must be readable.
- a *subject* id (a UUID, with its dashes), for a value of one person (an account holder, a
  unit's contact or legal representative): it is sealed under that person's own data key,
  a random AES-256 key stored *wrapped* (sealed under the ring, so it rotates with it) in the
  `SubjectKeyStore` (PostgreSQL's `subject_keys` table: ledger/storage/postgres.py). Erasing the
  person destroys that key: every value sealed under it stays in the immutable log, and in every
  hash and proof over it, but no key opens it any more.

Version 1 values, `enc:v1:<key id>:<hint>:<payload>`, written before this version, carried
their masked hint in clear beside the ciphertext (the field's name and the hint were the
associated data); they are still read, and shown masked from their opened value like version 2.
Their hint stays in the log: they are sealed under a ring key, not a person's key, so erasing
their person cannot erase them.
"""

from __future__ import annotations

import base64
import hashlib
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

V1 = "enc:v1:"
V2 = "enc:v2:"
PREFIX = V2  # what `FieldCipher.seal` writes
KEY_BYTES = 32
NONCE_BYTES = 12
# What every view and response shows in place of a value whose person was erased.
ERASED = "[已删除]"
# How long a process keeps a person's unwrapped data key: an erasure made by another process
# (the command line) takes effect in every process within this many seconds.
SUBJECT_KEY_SECONDS = 2.0
# Shown for a version-2 value by whoever cannot open it (it carries no hint).
_HIDDEN = "***"


class SealError(ValueError):
    """A sealed value that no key opens, or that is not a sealed value."""


class Erased(SealError):
    """The value's person was erased: its data key is destroyed (or was never stored)."""


def key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:16]


def is_sealed(value: object) -> bool:
    return isinstance(value, str) and (value.startswith(V2) or value.startswith(V1))


def _parts(value: str) -> tuple[int, str, str, str]:
    """(version, key id, hint, payload) of a sealed value (the hint is "" in version 2)."""
    if value.startswith(V1):
        kid, _, rest = value.removeprefix(V1).partition(":")
        hint, _, payload = rest.rpartition(":")
        return 1, kid, hint, payload
    kid, _, payload = value.removeprefix(V2).partition(":")
    return 2, kid, "", payload


def sealed_hint(value: str) -> str:
    """The masked form a version-1 value carries in clear; a version-2 value carries none
    (`FieldCipher.reveal` opens it, and the caller masks what it opened)."""
    version, _, hint, _ = _parts(value)
    return hint if version == 1 else _HIDDEN


def sealed_subject(value: str) -> UUID | None:
    """The person whose data key seals `value`; None for a value sealed under a ring key."""
    if not is_sealed(value):
        return None
    version, kid, _, _ = _parts(value)
    if version != 2 or "-" not in kid:
        return None
    try:
        return UUID(kid)
    except ValueError:
        return None


def _associated(field: str, hint: str) -> bytes:
    return f"{field}\n{hint}".encode()


def _associated_v2(field: str, kid: str) -> bytes:
    return f"v2\n{field}\n{kid}".encode()


@dataclass(frozen=True)
class SubjectKey:
    """A row of the subject key store: the person's wrapped data key, None once erased."""

    wrapped_key: str | None
    erased: bool


class SubjectKeyStore(Protocol):
    """Where the persons' wrapped data keys live (PostgreSQL:
    `ledger.storage.postgres.SubjectKeys`)."""

    def get(self, subject_id: UUID) -> SubjectKey | None: ...

    def add(self, subject_id: UUID, wrapped_key: str) -> None:
        """Stores the key unless the subject has a row already (a key, or its erasure)."""

    def erase(self, subject_id: UUID) -> bool:
        """Destroys the subject's key and records when (a row even if it had none); True
        when a key was destroyed by this call."""


class MemorySubjectKeys:
    """Subject keys held in memory only: for tests and in-memory ledgers."""

    def __init__(self) -> None:
        self._rows: dict[UUID, SubjectKey] = {}
        self._lock = threading.Lock()

    def get(self, subject_id: UUID) -> SubjectKey | None:
        return self._rows.get(subject_id)

    def add(self, subject_id: UUID, wrapped_key: str) -> None:
        with self._lock:
            self._rows.setdefault(subject_id, SubjectKey(wrapped_key, erased=False))

    def erase(self, subject_id: UUID) -> bool:
        with self._lock:
            before = self._rows.get(subject_id)
            self._rows[subject_id] = SubjectKey(None, erased=True)
        return before is not None and before.wrapped_key is not None


class FieldCipher:
    """AES-256-GCM over single fields: `keys[0]` seals, any of `keys` opens, and each person's
    own data key (in `subjects`, wrapped by the ring) seals and opens that person's values."""

    def __init__(self, keys: Sequence[bytes], subjects: SubjectKeyStore | None = None) -> None:
        if not keys:
            raise ValueError("a field cipher needs at least one key")
        for key in keys:
            if len(key) != KEY_BYTES:
                raise ValueError(f"an AES-256 key has {KEY_BYTES} bytes, not {len(key)}")
        self._ring = {key_id(key): AESGCM(key) for key in keys}
        self.current = key_id(keys[0])
        self.subjects: SubjectKeyStore = subjects or MemorySubjectKeys()
        self._opened: dict[UUID, tuple[float, AESGCM]] = {}
        self._lock = threading.Lock()

    @classmethod
    def ephemeral(cls) -> FieldCipher:
        """A random key held only in memory: for tests and in-memory ledgers."""
        return cls([AESGCM.generate_key(bit_length=256)])

    @property
    def key_ids(self) -> list[str]:
        return list(self._ring)

    def seal(self, plain: str, *, field: str, hint: str = "", subject: UUID | None = None) -> str:
        """`plain` sealed under `subject`'s data key (made on first use), or under the ring's
        current key. `hint` is accepted for older callers and ignored: no hint is stored."""
        del hint
        if subject is None:
            kid, aead = self.current, self._ring[self.current]
        else:
            kid, aead = str(subject), self._subject_aead(subject, create=True)
        nonce = os.urandom(NONCE_BYTES)
        sealed = aead.encrypt(nonce, plain.encode(), _associated_v2(field, kid))
        return f"{V2}{kid}:{_b64(nonce + sealed)}"

    def open(self, value: str, *, field: str) -> str:
        """The value in clear; `Erased` when its person's key is destroyed, `SealError` when
        no key opens it."""
        if not is_sealed(value):
            raise SealError("not a sealed value")
        version, kid, hint, payload = _parts(value)
        if version == 1:
            aead, associated = self._ring.get(kid), _associated(field, hint)
        elif (subject := sealed_subject(value)) is not None:
            aead, associated = self._subject_aead(subject, create=False), _associated_v2(field, kid)
        else:
            aead, associated = self._ring.get(kid), _associated_v2(field, kid)
        if aead is None:
            raise SealError(f"no key {kid} in the ring")
        try:
            raw = _unb64(payload)
            return aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], associated).decode()
        except (InvalidTag, ValueError) as error:
            raise SealError("the sealed value does not open with its key") from error

    def reveal(self, value: str, *, field: str) -> str | None:
        """`value` in clear (itself when it is not sealed), or None when it does not open
        (its person erased, its key dropped from the ring, or tampered with)."""
        if not is_sealed(value):
            return value
        try:
            return self.open(value, field=field)
        except SealError:
            return None

    # --- persons' data keys -----------------------------------------------------------------
    def erase(self, subject: UUID) -> bool:
        """Destroys the person's data key: every value sealed under it is unreadable from
        now on, here at once, in other processes within `SUBJECT_KEY_SECONDS`. True when a
        key was destroyed (False: already erased, or the person had no key)."""
        with self._lock:
            self._opened.pop(subject, None)
        destroyed = self.subjects.erase(subject)
        with self._lock:
            self._opened.pop(subject, None)
        return destroyed

    def is_erased(self, subject: UUID) -> bool:
        row = self.subjects.get(subject)
        return row is not None and row.erased

    def _subject_aead(self, subject: UUID, *, create: bool) -> AESGCM:
        now = time.monotonic()
        with self._lock:
            cached = self._opened.get(subject)
        if cached is not None and now - cached[0] < SUBJECT_KEY_SECONDS:
            return cached[1]
        row = self.subjects.get(subject)
        if row is None and create:
            self.subjects.add(subject, self._wrap(subject, AESGCM.generate_key(bit_length=256)))
            row = self.subjects.get(subject)
        if row is None or row.wrapped_key is None:
            raise Erased(f"the data key of {subject} is destroyed")
        aead = AESGCM(self._unwrap(subject, row.wrapped_key))
        with self._lock:
            self._opened[subject] = (now, aead)
        return aead

    def _wrap(self, subject: UUID, key: bytes) -> str:
        return self.seal(_b64(key), field=f"subject-key:{subject}")

    def _unwrap(self, subject: UUID, wrapped: str) -> bytes:
        return _unb64(self.open(wrapped, field=f"subject-key:{subject}"))


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))

"""Sealing personal numbers: round trip, key rotation, tampering, and the key from settings."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
from pydantic import SecretStr

from api.core.keys import EncryptionKeyError, load_cipher
from api.core.settings import Settings
from ledger.storage.crypto import FieldCipher, SealError, is_sealed


def _key() -> bytes:
    return os.urandom(32)


def test_a_sealed_number_opens_to_itself_and_shows_nothing_of_it() -> None:
    cipher = FieldCipher([_key()])
    sealed = cipher.seal("500108198506123019", field="id_number")

    assert is_sealed(sealed)
    # No mask or hint of it ("500108********3019"); random bytes may hold "3019" by chance.
    assert "500108198506123019" not in sealed and "500108" not in sealed and "*" not in sealed
    assert cipher.open(sealed, field="id_number") == "500108198506123019"
    assert cipher.seal("13912345678", field="phone") != cipher.seal("13912345678", field="phone")


def test_after_rotation_the_new_key_seals_and_the_old_one_still_opens() -> None:
    old, new = _key(), _key()
    before = FieldCipher([old]).seal("13912345678", field="phone")
    ring = FieldCipher([new, old])
    after = ring.seal("13912345678", field="phone")

    assert ring.open(before, field="phone") == ring.open(after, field="phone") == "13912345678"
    assert after.split(":")[2] == ring.current != before.split(":")[2]


def test_a_value_under_a_dropped_key_a_tampered_value_or_another_field_does_not_open() -> None:
    cipher = FieldCipher([_key()])
    sealed = cipher.seal("13912345678", field="phone")
    flipped = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]

    for bad, field in ((flipped, "phone"), (sealed, "id_number"), ("13912345678", "phone")):
        with pytest.raises(SealError):
            cipher.open(bad, field=field)
    with pytest.raises(SealError):
        FieldCipher([_key()]).open(sealed, field="phone")


def test_without_a_configured_key_one_is_generated_once_and_kept(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    first = load_cipher(settings)
    again = load_cipher(settings)

    assert first.current == again.current
    assert (tmp_path / "encryption.key").stat().st_mode & 0o777 == 0o600
    assert again.open(first.seal("x", field="phone"), field="phone") == "x"


def test_a_configured_ring_is_used_and_a_bad_one_refused(tmp_path: Path) -> None:
    new, old = _key(), _key()
    text = ",".join(base64.b64encode(k).decode() for k in (new, old))
    ring = load_cipher(Settings(data_dir=tmp_path, encryption_key=SecretStr(text)))
    keyfile = tmp_path / "keys"
    keyfile.write_text(text.replace(",", "\n"))
    from_file = load_cipher(Settings(data_dir=tmp_path, encryption_key=SecretStr(str(keyfile))))

    assert ring.key_ids == from_file.key_ids and len(ring.key_ids) == 2
    assert not (tmp_path / "encryption.key").exists()
    with pytest.raises(EncryptionKeyError):
        load_cipher(Settings(data_dir=tmp_path, encryption_key=SecretStr("c2hvcnQ=")))


def _sealed_v1(key: bytes, plain: str, *, field: str, hint: str) -> str:
    """A value as versions before `enc:v2` sealed it: its masked hint in clear beside it."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from ledger.storage.crypto import key_id

    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, plain.encode(), f"{field}\n{hint}".encode())
    payload = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
    return f"enc:v1:{key_id(key)}:{hint}:{payload}"


def test_a_value_carries_no_hint_and_an_old_one_still_opens_and_shows_its_own() -> None:
    """Changed on purpose (issue 17): `enc:v2` stores no masked hint (it is computed from the
    opened value); `enc:v1` values, hint and all, are still read."""
    from ledger import codes

    key = _key()
    cipher = FieldCipher([key])
    sealed = cipher.seal("13912345678", field="phone", hint=codes.mask_phone("13912345678"))
    old = _sealed_v1(key, "13912345678", field="phone", hint="139****5678")
    forged = old.replace("139****5678", "139****0000")

    # No hint in any form: v1 kept "139****5678" as a field of its own; the key id and the
    # base64url payload are random and may hold any digits, but never "*" or the number.
    assert sealed.startswith("enc:v2:") and sealed.count(":") == 3
    assert "*" not in sealed and "13912345678" not in sealed and "139****5678" not in sealed
    assert codes.mask_phone(sealed) == "***"  # nothing to show without opening it
    assert codes.mask_phone(old) == "139****5678"
    assert cipher.open(old, field="phone") == cipher.open(sealed, field="phone") == "13912345678"
    with pytest.raises(SealError):
        cipher.open(forged, field="phone")


def test_a_persons_values_open_until_their_data_key_is_destroyed() -> None:
    from uuid import uuid4

    from ledger.storage.crypto import ERASED, Erased, sealed_subject

    ring = _key()
    cipher = FieldCipher([ring])
    person, other = uuid4(), uuid4()
    phone = cipher.seal("13912345678", field="phone", subject=person)
    theirs = cipher.seal("13698765432", field="phone", subject=other)
    wrapped = cipher.subjects.get(person)

    assert sealed_subject(phone) == person and sealed_subject(theirs) == other
    assert wrapped is not None and wrapped.wrapped_key is not None
    assert str(person) in phone and "13912345678" not in wrapped.wrapped_key
    assert cipher.open(phone, field="phone") == "13912345678"
    assert cipher.erase(person) is True and cipher.erase(person) is False
    with pytest.raises(Erased):
        cipher.open(phone, field="phone")
    assert cipher.reveal(phone, field="phone") is None and cipher.is_erased(person)
    assert cipher.subjects.get(person) == type(wrapped)(None, erased=True)
    assert cipher.open(theirs, field="phone") == "13698765432"  # nobody else's
    with pytest.raises(Erased):  # an erased person never gets a new key
        cipher.seal("13912345678", field="phone", subject=person)
    assert ERASED == "[已删除]"

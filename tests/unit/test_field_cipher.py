"""Sealing personal numbers: round trip, key rotation, tampering, and the key from settings."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
from pydantic import SecretStr

from api.keys import EncryptionKeyError, load_cipher
from api.settings import Settings
from ledger.crypto import FieldCipher, SealError, is_sealed


def _key() -> bytes:
    return os.urandom(32)


def test_a_sealed_number_opens_to_itself_and_shows_nothing_of_it() -> None:
    cipher = FieldCipher([_key()])
    sealed = cipher.seal("500108198506123019", field="id_number")

    assert is_sealed(sealed)
    assert "500108" not in sealed and "3019" not in sealed
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


def test_a_sealed_number_masks_to_its_hint_and_the_hint_cannot_be_changed() -> None:
    from ledger import codes

    cipher = FieldCipher([_key()])
    sealed = cipher.seal("13912345678", field="phone", hint=codes.mask_phone("13912345678"))
    forged = sealed.replace("139****5678", "139****0000")

    assert codes.mask_phone(sealed) == "139****5678"
    assert codes.mask_id_card(sealed) == "139****5678"
    with pytest.raises(SealError):
        cipher.open(forged, field="phone")

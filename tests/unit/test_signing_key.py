"""Where the checkpoints' signing key comes from: the settings, or a generated file."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
)
from pydantic import SecretStr

from api.core.keys import GENERATED_KEY_FILE, SigningKeyError, load_signer, view_configuration
from api.core.settings import Settings
from projections.hashing import Signer, public_key_bytes


def _settings(tmp_path: Path, key: str | None = None) -> Settings:
    return Settings(data_dir=tmp_path, signing_key=SecretStr(key) if key is not None else None)


def _public(key: Ed25519PrivateKey) -> bytes:
    return public_key_bytes(key.public_key())


def test_a_base64_raw_key_in_the_setting_is_used(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    signer = load_signer(_settings(tmp_path, base64.b64encode(raw).decode()))
    assert signer.public_key == _public(key)
    assert not (tmp_path / GENERATED_KEY_FILE).exists()


def test_a_pem_file_named_by_the_setting_is_used(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    path = tmp_path / "ledger.pem"
    path.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    assert load_signer(_settings(tmp_path, str(path))).public_key == _public(key)


def test_without_a_setting_a_key_is_generated_once_readable_only_by_its_owner(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = load_signer(_settings(tmp_path / "data"))
    path = tmp_path / "data" / GENERATED_KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_signer(_settings(tmp_path / "data")).public_key == first.public_key
    logged = capsys.readouterr().err
    assert "generated_signing_key_in_use" in logged
    assert path.read_text().split("\n")[1] not in logged  # the key itself is never logged


@pytest.mark.parametrize("value", ["not base64 at all!", base64.b64encode(b"short").decode()])
def test_a_setting_that_is_no_ed25519_key_is_refused_at_start(tmp_path: Path, value: str) -> None:
    with pytest.raises(SigningKeyError):
        load_signer(_settings(tmp_path, value))


def test_only_the_chain_view_is_given_the_signer(tmp_path: Path) -> None:
    from projections.chain import ChainView
    from projections.status import StatusView

    configure = view_configuration(_settings(tmp_path))
    chain = ChainView.__new__(ChainView)
    chain.signer, chain.checkpoint_every = None, 0
    status = StatusView.__new__(StatusView)
    configure(chain)
    configure(status)
    assert isinstance(chain.signer, Signer)
    assert chain.checkpoint_every == 1000
    assert not hasattr(status, "signer")

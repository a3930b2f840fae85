"""The Ed25519 key that signs the hash chain's checkpoints, from the settings.

`LEDGER_SIGNING_KEY` is either the base64 of a raw 32-byte private key, or the path of a file
holding a PKCS#8 PEM private key (`openssl genpkey -algorithm ed25519`) or that base64. When it is
unset, the key in `<LEDGER_DATA_DIR>/signing.key` is used, generated on first start (mode 0600)
so that the service runs on a bare machine; a warning says so (never the key). For production,
generate a key, keep a copy off the machine, and give outside parties the public key:
`psvs-ledger verify --public-key`.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import structlog
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from api.core import logs
from api.core.secrets import generated_secret
from api.core.settings import Settings
from ledger.storage.crypto import KEY_BYTES, FieldCipher
from projections.base import ViewRecorder
from projections.chain import ChainView
from projections.hashing import Signer

GENERATED_KEY_FILE = "signing.key"


class SigningKeyError(ValueError):
    """LEDGER_SIGNING_KEY names no usable Ed25519 private key."""


def _from_text(text: bytes, source: str) -> Ed25519PrivateKey:
    if text.lstrip().startswith(b"-----BEGIN"):
        try:
            key = load_pem_private_key(text, password=None)
        except (ValueError, TypeError) as error:
            raise SigningKeyError(f"{source}: not an unencrypted PEM private key") from error
        if not isinstance(key, Ed25519PrivateKey):
            raise SigningKeyError(f"{source}: the PEM key is not an Ed25519 key")
        return key
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except binascii.Error as error:
        raise SigningKeyError(f"{source}: neither PEM nor base64") from error
    if len(raw) != 32:
        raise SigningKeyError(f"{source}: a raw Ed25519 private key has 32 bytes, not {len(raw)}")
    return Ed25519PrivateKey.from_private_bytes(raw)


def _generated(path: Path) -> Ed25519PrivateKey:
    """The key in `path`, generated first (0600, atomically) if there is none yet."""
    pem = generated_secret(
        path,
        lambda: Ed25519PrivateKey.generate().private_bytes(
            Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
        ),
    )
    return _from_text(pem, str(path))


def load_signer(settings: Settings) -> Signer:
    """The configured signing key, or the generated one (with a warning)."""
    if settings.signing_key is not None:
        value = settings.signing_key.get_secret_value().strip()
        if not value.startswith("-----BEGIN") and Path(value).is_file():
            return Signer(_from_text(Path(value).read_bytes(), value))
        return Signer(_from_text(value.encode(), "LEDGER_SIGNING_KEY"))
    path = settings.data_dir / GENERATED_KEY_FILE
    signer = Signer(_generated(path))
    _warn_generated(
        settings,
        "generated_signing_key_in_use",
        "LEDGER_SIGNING_KEY is unset: checkpoints are signed with a generated key",
        path,
        signer.key_id,
    )
    return signer


def view_configuration(settings: Settings) -> Callable[[ViewRecorder], None]:
    """What the runtime does to each view it opens: the chain view gets its signer."""
    signer = load_signer(settings)

    def configure(view: ViewRecorder) -> None:
        if isinstance(view, ChainView):
            view.signer = signer
            view.checkpoint_every = settings.checkpoint_every

    return configure


# --- the key ring that seals personal numbers (ledger/storage/crypto.py) --------------------------

GENERATED_ENCRYPTION_KEY_FILE = "encryption.key"


class EncryptionKeyError(ValueError):
    """LEDGER_ENCRYPTION_KEY names no usable AES-256 key."""


def _cipher_keys(text: str, source: str) -> list[bytes]:
    """Base64 AES-256 keys separated by commas or new lines; the first one seals."""
    keys = []
    for part in text.replace(",", "\n").split():
        try:
            key = base64.b64decode(part, validate=True)
        except binascii.Error as error:
            raise EncryptionKeyError(f"{source}: an encryption key is not base64") from error
        if len(key) != KEY_BYTES:
            raise EncryptionKeyError(f"{source}: an AES-256 key has 32 bytes, not {len(key)}")
        keys.append(key)
    if not keys:
        raise EncryptionKeyError(f"{source}: no encryption key")
    return keys


def load_cipher(settings: Settings) -> FieldCipher:
    """The ring of `LEDGER_ENCRYPTION_KEY` (keys, or a file of them), or the generated key
    in `<LEDGER_DATA_DIR>/encryption.key` (with a warning, never the key)."""
    if settings.encryption_key is not None:
        value = settings.encryption_key.get_secret_value().strip()
        if Path(value).is_file():
            return FieldCipher(_cipher_keys(Path(value).read_text(), value))
        return FieldCipher(_cipher_keys(value, "LEDGER_ENCRYPTION_KEY"))
    path = settings.data_dir / GENERATED_ENCRYPTION_KEY_FILE
    secret = generated_secret(path, lambda: base64.b64encode(os.urandom(KEY_BYTES)) + b"\n")
    cipher = FieldCipher(_cipher_keys(secret.decode(), str(path)))
    _warn_generated(
        settings,
        "generated_encryption_key_in_use",
        "LEDGER_ENCRYPTION_KEY is unset: personal numbers are sealed with a generated key",
        path,
        cipher.current,
    )
    return cipher


# Whether a generated key is a warning (the default; `psvs-ledger` keeps it for `serve` and
# `projections run`, the commands that start the service) or a debug line (the other commands).
_loud_generated_keys = True
_warned: set[tuple[str, str, str]] = set()


@contextmanager
def generated_key_warnings(loud: bool) -> Iterator[None]:
    """Within: a generated key is logged at warning level if `loud`, else at debug level."""
    global _loud_generated_keys
    previous, _loud_generated_keys = _loud_generated_keys, loud
    try:
        yield
    finally:
        _loud_generated_keys = previous


def _warn_generated(settings: Settings, event: str, detail: str, path: Path, key_id: str) -> None:
    """Says, once per process, that a key was generated rather than configured (and where)."""
    if not structlog.is_configured():
        logs.configure(settings.log_level)
    if not _loud_generated_keys:
        logs.log.debug(event, detail=detail, path=str(path), key_id=key_id)
        return
    if (event, str(path), key_id) in _warned:
        return
    _warned.add((event, str(path), key_id))
    logs.log.warning(event, detail=detail, path=str(path), key_id=key_id)

"""Secrets generated on first start when none is configured (signing, encryption, sessions).

The file is written once, mode 0600, atomically (a temporary file linked into place), and a
process that loses the race to another reads the winner's, so every process of one service
ends up with the same secret.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from api.core.settings import Settings

# The officer pages' session cookies and the lists' cursors are signed with keys derived from it.
GENERATED_SESSION_KEY_FILE = "session.key"
MIN_SESSION_KEY_CHARS = 32


class SessionKeyError(ValueError):
    """LEDGER_SESSION_KEY is too short to sign sessions safely."""


def session_key(settings: Settings) -> str:
    """`LEDGER_SESSION_KEY`, or the key generated once into the data directory."""
    if settings.session_key is not None:
        key = settings.session_key.get_secret_value().strip()
        if len(key) < MIN_SESSION_KEY_CHARS:
            raise SessionKeyError(
                f"LEDGER_SESSION_KEY needs at least {MIN_SESSION_KEY_CHARS} characters"
            )
        return key
    path = settings.data_dir / GENERATED_SESSION_KEY_FILE
    return generated_secret(path, lambda: secrets.token_urlsafe(48).encode()).decode().strip()


def generated_secret(path: Path, make: Callable[[], bytes]) -> bytes:
    """The bytes in `path`, which `make()` writes first when the file does not exist yet."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(make())
        try:
            with contextlib.suppress(FileExistsError):  # another process got there first
                os.link(temporary, path)
        finally:
            temporary.unlink()
    return path.read_bytes()

"""Secrets generated on first start when none is configured (signing, encryption, sessions).

The file is written once, mode 0600, atomically (a temporary file linked into place), and a
process that loses the race to another reads the winner's, so every process of one service
ends up with the same secret.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path


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

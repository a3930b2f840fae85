"""Opaque list cursors: the keyset position of the last item, as URL-safe base64 JSON."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from api.problems import Problem


def encode(position: list[Any] | None) -> str | None:
    """The cursor for a page ending at `position` (None: there is no next page)."""
    if position is None:
        return None
    raw = json.dumps(position, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str | None, *, length: int) -> list[Any] | None:
    """The position a cursor names; a cursor this service did not give out is a 400."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        position = json.loads(raw)
    except (ValueError, binascii.Error):
        position = None
    if not isinstance(position, list) or len(position) != length:
        raise Problem(400, "the cursor is not one this service gave out")
    return position

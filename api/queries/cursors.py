"""Opaque list cursors, signed: the keyset position of a page's last item.

Every list that pages (`/v1/systems`, `/v1/audit`, `/v1/overdue` and the officer pages' lists,
all read through api/queries) gives out and takes back its cursors through this one codec: the
position as URL-safe base64 JSON with an HMAC (itsdangerous) over it and the list's name. The
key is derived from the officer pages' session key (`LEDGER_SESSION_KEY`, or the generated
`<LEDGER_DATA_DIR>/session.key`), so every process of one install accepts the others' cursors,
and changing that key only ends the paging in progress. A cursor this service did not give out
for that list (forged, edited, another list's, another install's, or an unsigned one from
before) is a 400 problem naming the `cursor` query parameter, never a 500.

`configure(settings)` (called by `create_app`) names the install whose key signs; the key itself
is read on first use. Without it (a bare script) a random key of the process signs.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

from itsdangerous import BadData, URLSafeSerializer

from api.core.secrets import session_key
from api.core.settings import Settings
from api.http.problems import Problem
from ledger.values import FieldError

T = TypeVar("T")

MAX_CURSOR_CHARS = 512
_PURPOSE = b"psvs-ledger list cursors v1"
_lock = threading.Lock()
_settings: Settings | None = None
_serializer: URLSafeSerializer | None = None


def configure(settings: Settings) -> None:
    """Cursors are signed under `settings`' key from now on (read when first needed)."""
    global _settings, _serializer
    with _lock:
        _settings, _serializer = settings, None


def _signer() -> URLSafeSerializer:
    global _serializer
    with _lock:
        if _serializer is None:
            if _settings is None:
                secret = secrets.token_bytes(32)
            else:
                secret = session_key(_settings).encode()
            key = hmac.new(secret, _PURPOSE, hashlib.sha256).digest()
            _serializer = URLSafeSerializer(key, salt="cursor")
        return _serializer


def bad_cursor() -> Problem:
    return Problem(
        400,
        "the cursor is not one this service gave out for this list",
        errors=[FieldError(("query", "cursor"), "not a cursor this service gave out")],
    )


def encode(list_name: str, position: list[Any] | None) -> str | None:
    """The cursor of `list_name` for a page ending at `position` (None: no next page)."""
    if position is None:
        return None
    signed = _signer().dumps(position, salt=f"cursor:{list_name}")
    return signed if isinstance(signed, str) else signed.decode()


def decode(list_name: str, cursor: str | None, parse: Callable[[list[Any]], T]) -> T | None:
    """`parse` of the position a cursor of `list_name` names (None: no cursor, the first page).
    A cursor that does not verify, or whose position `parse` refuses, is a 400."""
    if not cursor:
        return None
    if len(cursor) > MAX_CURSOR_CHARS:
        raise bad_cursor()
    try:
        position = _signer().loads(cursor, salt=f"cursor:{list_name}")
        if not isinstance(position, list):
            raise ValueError("not a position")
        return parse(position)
    except (BadData, ValueError, TypeError, LookupError):
        raise bad_cursor() from None


def a_number(position: list[Any]) -> int:
    """The position `[n]` of the lists in log or filing order."""
    (value,) = position
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise TypeError("not a position")
    return value


def a_day_and_id(position: list[Any]) -> tuple[date, str]:
    """The position `[due date, item id]` of the overdue lists."""
    day, item = position
    if not isinstance(day, str) or not isinstance(item, str):
        raise TypeError("not a position")
    return date.fromisoformat(day), item


def after_number(list_name: str, cursor: str | None) -> int:
    """The log or filing position a page of `list_name` continues after (0: the first page)."""
    return decode(list_name, cursor, a_number) or 0


def of_number(list_name: str, value: int | None) -> str | None:
    """The cursor of a page of `list_name` ending at position `value` (None: the last page)."""
    return encode(list_name, None if value is None else [value])


def of_day_and_id(list_name: str, last: tuple[date, str] | None) -> str | None:
    """The cursor of a page of `list_name` ending at `(due date, item id)` (None: the last)."""
    return encode(list_name, None if last is None else [last[0].isoformat(), last[1]])

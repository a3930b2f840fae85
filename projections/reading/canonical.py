"""A stored event's RFC 8785 (JCS) canonical bytes: the other half of the one reading of the
stored events (the hash chain's per-event content, projections/hashing.py). Byte for byte what
the `rfc8785` package writes, but faster.

The `rfc8785` package is pure Python (about 16,000 event states a second here); the standard
library's C encoder with sorted keys and no spaces writes the very same bytes for almost every
value the ledger stores. It differs from RFC 8785 in only a few places, each detected here and
handed to `rfc8785` instead:

- floats: JCS writes ECMAScript numbers. An integral float (5.0) is written as an integer, which
  is what JCS writes for it below 2**53; a non-integral float with 1e-4 <= |x| < 2**53 has the
  same shortest round-trip digits in both. Anything else (tiny, huge, NaN) goes to `rfc8785`.
- integers beyond 2**53 - 1: JCS cannot express them; `rfc8785` raises, as it should.
- key order: JCS sorts by UTF-16 code units, Python by code points; the two differ only for
  characters outside the Basic Multilingual Plane, so text holding any goes to `rfc8785`.
- lone surrogates cannot be encoded as UTF-8: `rfc8785` decides.

String escaping is the same in both (`\\"`, `\\\\`, `\\b \\t \\n \\f \\r`, other controls as
lower-case `\\u00xx`, everything else as UTF-8). tests/unit/test_chain_hashing.py checks the
equality on generated values.
"""

from __future__ import annotations

import json
import re
from typing import Any

import rfc8785

_MAX_SAFE_INTEGER = 2**53 - 1
# A 4-byte UTF-8 sequence (a character outside the BMP), and an escaped surrogate.
_NON_BMP = re.compile(rb"[\xf0-\xff]")
_ESCAPED_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")


class _Unusual(Exception):
    """The value needs the reference encoder."""


def _parse_float(text: str) -> int | float:
    value = float(text)
    if value.is_integer() and abs(value) <= _MAX_SAFE_INTEGER:
        return int(value)
    if 1e-4 <= abs(value) < _MAX_SAFE_INTEGER:
        return value
    raise _Unusual(text)


def _parse_int(text: str) -> int:
    if len(text) > 15 and abs(int(text)) > _MAX_SAFE_INTEGER:
        raise _Unusual(text)
    return int(text)


def _needs_reference(json_bytes: bytes) -> bool:
    """Whether the text holds characters outside the BMP (cheap checks first)."""
    if not json_bytes.isascii() and _NON_BMP.search(json_bytes):
        return True
    return b"\\u" in json_bytes and _ESCAPED_SURROGATE.search(json_bytes) is not None


def _parse_constant(text: str) -> Any:
    raise _Unusual(text)


# Built once: json.loads and json.dumps with options build a new decoder or encoder per call.
_DECODER = json.JSONDecoder(
    parse_float=_parse_float, parse_int=_parse_int, parse_constant=_parse_constant
)
_ENCODER = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
)


def dumps_with(members: dict[str, Any], *, key: str, json_bytes: bytes) -> bytes:
    """RFC 8785 bytes of `members` plus `key` set to the JSON value in UTF-8 `json_bytes`.

    `members` must hold only ASCII keys, strings and safe integers (ids, positions, hashes).
    Raises ValueError when `json_bytes` is not UTF-8 JSON, rfc8785.CanonicalizationError when
    RFC 8785 cannot express it."""
    text = json_bytes.decode("utf-8")
    if not _needs_reference(json_bytes):
        try:
            return _ENCODER.encode({**members, key: _DECODER.decode(text)}).encode("utf-8")
        except (_Unusual, UnicodeEncodeError):  # UnicodeEncodeError: a lone surrogate
            pass
    return rfc8785.dumps({**members, key: json.loads(text)})

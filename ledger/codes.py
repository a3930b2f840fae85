"""Checks for the codes a filing carries: USCC, resident ID card, GB/T 28181 device ID,
GB/T 2260 division code and phone numbers.

Each ``*_error`` function returns a short English message, or None when the value is valid,
so callers can collect every field error at once. ID-card and phone numbers are personal
information: the messages never repeat them, and ``mask_*`` hides them for display.
"""

from __future__ import annotations

import functools
import re
from datetime import date

from stdnum import numdb

from ledger.storage.crypto import is_sealed, sealed_hint

# GB 32100: the 31 characters of the code (no I, O, S, V, Z).
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
_USCC_LENGTH = 18

# GB 11643 / ISO 7064 MOD 11-2.
_ID_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
_ID_LENGTH = 18
_ID_SHAPE = re.compile(r"[0-9]{17}[0-9X]")
_EARLIEST_BIRTH = date(1900, 1, 1)

_DIVISION_SHAPE = re.compile(r"[0-9]{6}")
_DEVICE_SHAPE = re.compile(r"[0-9]{20}")
CAMERA_DEVICE_TYPES = frozenset({"131", "132"})

_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_FIXED_LINE = re.compile(r"(?P<area>0[0-9]{2,3})-?(?P<local>[0-9]{7,8})(?:-(?P<ext>[0-9]{1,6}))?")


# --- USCC (GB 32100) -------------------------------------------------------------------------


def normalise_uscc(value: str) -> str:
    """Return the USCC as stored: surrounding spaces removed, letters upper-case."""
    return value.strip().upper()


def uscc_check_char(body17: str) -> str:
    """Return the mod-31 check character for the first 17 characters of a USCC.

    Raises ValueError when the body is not 17 characters from the USCC alphabet.
    """
    if len(body17) != _USCC_LENGTH - 1 or any(c not in USCC_ALPHABET for c in body17):
        raise ValueError("USCC body must be 17 characters from 0-9A-HJ-NPQRTUWXY")
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(body17, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def uscc_error(value: str) -> str | None:
    """Check a unified social credit code; codes beginning with A, N or Y are valid too."""
    code = normalise_uscc(value)
    if len(code) != _USCC_LENGTH:
        return "must be 18 characters"
    if any(c not in USCC_ALPHABET for c in code):
        return "may only contain digits and the letters A-H, J-N, P-R, T, U, W-Y"
    if code[-1] != uscc_check_char(code[:-1]):
        return "check character does not match"
    return None


# --- Resident ID card (GB 11643) -------------------------------------------------------------


def normalise_id_card(value: str) -> str:
    """Return the ID-card number as stored: surrounding spaces removed, a final x upper-case."""
    return value.strip().upper()


def id_card_check_char(body17: str) -> str:
    """Return the ISO 7064 MOD 11-2 check character (0-9 or X) for 17 ID-card digits.

    Raises ValueError when the body is not 17 ASCII digits.
    """
    if not re.fullmatch(r"[0-9]{17}", body17):
        raise ValueError("ID-card body must be 17 digits")
    total = sum(int(c) * w for c, w in zip(body17, _ID_WEIGHTS, strict=True))
    check = (12 - total % 11) % 11
    return "X" if check == 10 else str(check)


def id_card_error(value: str, *, today: date) -> str | None:
    """Check a resident ID-card number: shape, a real birth date in [1900, today], check char.

    The area code is deliberately not checked against the birth year (python-stdnum's
    ``cn.ric.validate`` does, and rejects many real numbers).
    """
    number = normalise_id_card(value)
    if len(number) != _ID_LENGTH:
        return "must be 18 characters"
    if not _ID_SHAPE.fullmatch(number):
        return "must be 17 digits followed by a digit or X"
    birth_error = _birth_date_error(number[6:14], today=today)
    if birth_error is not None:
        return birth_error
    if number[-1] != id_card_check_char(number[:-1]):
        return "check character does not match"
    return None


def _birth_date_error(yyyymmdd: str, *, today: date) -> str | None:
    """Check the eight birth-date digits of an ID-card number."""
    try:
        born = date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:]))
    except ValueError:
        return "birth date is not a real date"
    if born > today:
        return "birth date is in the future"
    if born < _EARLIEST_BIRTH:
        return "birth date is before 1900"
    return None


def mask_id_card(value: str) -> str:
    """Hide an ID-card number except its first 6 and last 4 characters (a sealed number
    shows the masked form it carries)."""
    if is_sealed(value):
        return sealed_hint(value)
    number = normalise_id_card(value)
    if len(number) <= 10:
        return "*" * len(number)
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


# --- Division code (GB/T 2260) ---------------------------------------------------------------


@functools.cache
def _known_division_codes() -> frozenset[str]:
    """Every county-level code in python-stdnum's GB/T 2260 table, current or former.

    Former codes are kept on purpose: the table is compiled from Wikipedia and marks some
    codes still in use as ended (e.g. 500105 江北区 as "[1997-2025]"), and rejecting a real
    district would block a filing; a stale code is only a data-quality issue.
    """
    codes: set[str] = set()
    for length, low, high, _props, children in numdb.get("cn/loc").prefixes:
        if length != 2 or low != high:
            continue
        codes.update(low + child_low for _l, child_low, _h, _p, _c in children)
    return frozenset(codes)


def division_code_error(value: str) -> str | None:
    """Check a six-digit county-level division code against the GB/T 2260 table."""
    if not _DIVISION_SHAPE.fullmatch(value):
        return "must be 6 digits"
    if value.endswith("00"):
        return "must be a county-level code (not ending in 00)"
    if value not in _known_division_codes():
        return "is not a known GB/T 2260 code"
    return None


# --- GB/T 28181 device ID --------------------------------------------------------------------


def device_id_error(value: str) -> str | None:
    """Check a GB/T 28181 camera ID: centre 8 + industry 2 + type 3 + network 1 + serial 6."""
    if not _DEVICE_SHAPE.fullmatch(value):
        return "must be 20 digits"
    division_error = division_code_error(value[:6])
    if division_error is not None:
        return f"centre code: division code {division_error}"
    device_type = value[10:13]
    if device_type not in CAMERA_DEVICE_TYPES:
        return f"device type {device_type} is not a camera (131 or 132 expected)"
    return None


# --- Phone numbers ---------------------------------------------------------------------------


def phone_error(value: str) -> str | None:
    """Check a mobile number or a fixed line with area code (optional -extension)."""
    number = value.strip()
    if _MOBILE.fullmatch(number) or _FIXED_LINE.fullmatch(number):
        return None
    return "must be a mobile number or a fixed line with area code, e.g. 023-60437688"


def mask_phone(value: str) -> str:
    """Hide a phone number: a mobile keeps its first 3 and last 4 digits, a fixed line its
    area code and last 2 digits. Anything unrecognised is hidden entirely."""
    if is_sealed(value):
        return sealed_hint(value)
    number = value.strip()
    if _MOBILE.fullmatch(number):
        return number[:3] + "****" + number[-4:]
    fixed = _FIXED_LINE.fullmatch(number)
    if fixed is None:
        return "*" * len(number)
    return _mask_fixed_line(number, fixed)


def _mask_fixed_line(number: str, fixed: re.Match[str]) -> str:
    """Mask a fixed line, splitting the area code off by the Chinese numbering plan when
    there is no hyphen: 010 and 02X are 3-digit area codes, all others have 4."""
    if "-" in number[:5]:
        area, local = fixed["area"], fixed["local"]
    else:
        digits = fixed["area"] + fixed["local"]
        split = 3 if digits[:2] in {"01", "02"} else 4
        area, local = digits[:split], digits[split:]
    masked = f"{area}-{'*' * (len(local) - 2)}{local[-2:]}"
    if fixed["ext"]:
        masked += "-" + "*" * len(fixed["ext"])
    return masked

"""Valid codes (USCC, ID card, GB/T 28181 camera ID) and the districts the tests use.

Each maker returns a code the ledger accepts; a fresh serial each call unless one is given.
"""

from __future__ import annotations

import itertools

from ledger.codes import id_card_check_char, uscc_check_char

NANAN = "500108"  # 南岸区, 重庆市
SHAPINGBA = "500106"  # 沙坪坝区, 重庆市
YUZHONG = "500103"  # 渝中区, 重庆市
JINJIANG = "510104"  # 锦江区, 成都市

_serials = itertools.count(1)


def make_uscc(division_code: str = NANAN, *, serial: int | None = None) -> str:
    """A valid enterprise USCC (registration 9, type 1) in `division_code`."""
    number = next(_serials) if serial is None else serial
    body = f"91{division_code}MA{number:07d}"
    return body + uscc_check_char(body)


def bad_uscc(division_code: str = NANAN) -> str:
    """A USCC of the right shape whose check character is wrong."""
    good = make_uscc(division_code)
    wrong = "0" if good[-1] != "0" else "1"
    return good[:-1] + wrong


def make_id_card(birth: str = "19850312", *, serial: int | None = None) -> str:
    """A valid resident ID-card number of someone registered in 南岸区."""
    number = next(_serials) % 1000 if serial is None else serial
    body = f"{NANAN}{birth}{number:03d}"
    return body + id_card_check_char(body)


def make_device_id(serial: int, division_code: str = NANAN, *, camera_type: str = "131") -> str:
    """A GB/T 28181 camera ID: centre 8 + industry 2 + type 3 + network 1 + serial 6."""
    return f"{division_code}00" + "00" + camera_type + "0" + f"{serial:06d}"

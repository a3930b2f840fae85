"""Builders shared by the ledger's unit tests: request bodies, accounts, an app (the codes are
in tests/support/codes.py).

Every builder returns a value that passes the ledger's checks; a test changes one thing to make
it wrong. Dates are fixed: nothing here reads the clock.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any
from uuid import UUID

from ledger.accounts import Account
from ledger.services.application import Ledger, Outcome
from ledger.systems import VideoSystem
from ledger.values import Role
from tests.support.codes import NANAN, make_id_card, make_uscc

TODAY = date(2025, 5, 6)

_serials = itertools.count(1)


def make_ledger() -> Ledger:
    """The ledger on eventsourcing's in-memory store."""
    return Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


def head(app: Ledger) -> int | None:
    """The last position of the application's log: unchanged means nothing was written."""
    return app.recorder.max_notification_id()


# --- request bodies --------------------------------------------------------------------------


def unit_fields(uscc: str, **overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "uscc": uscc,
        "name": "重庆南坪商业管理有限公司",
        "unit_type": "enterprise",
        "address": "重庆市南岸区南坪西路1号",
        "division_code": NANAN,
        "legal_representative": "张三",
        "contact_name": "李四",
        "contact_phone": "023-62881234",
        "authorization_letter_id": None,
        "business_licence_id": None,
    }
    fields.update(overrides)
    return fields


def device(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "device_id": None,
        "name": "一楼大厅入口",
        "address": "重庆市南岸区南坪西路1号一楼",
        "longitude": 106.57,
        "latitude": 29.52,
        "device_type": "dome",
        "indoor": True,
        "face_capture": False,
        "storage_days": 30,
    }
    row.update(overrides)
    return row


def system_fields(unit_uscc: str, **overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "unit_uscc": unit_uscc,
        "name": "南坪商场视频监控系统",
        "place_category": 2,
        "place_type": "shopping_centre",
        "address": "重庆市南岸区南坪西路1号",
        "division_code": NANAN,
        "longitude": 106.57,
        "latitude": 29.52,
        "commissioned_on": date(2025, 4, 20),
        "storage_days": 30,
        "collection_area": "商场公共区域",
        "outsourced_to": None,
    }
    fields.update(overrides)
    return fields


def discovery_facts(**overrides: Any) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "name": "南坪广场未备案监控",
        "address": "重庆市南岸区南坪广场",
        "division_code": NANAN,
        "place_category": 1,
        "place_type": "square",
        "commissioned_on": date(2025, 4, 10),
    }
    facts.update(overrides)
    return facts


# --- accounts --------------------------------------------------------------------------------


def _token() -> str:
    return hashlib.sha256(f"token-{next(_serials)}".encode()).hexdigest()


def legal_person(app: Ledger, uscc: str) -> Account:
    return app.open_account(
        token_sha256=_token(),
        role=Role.LEGAL_PERSON,
        name="法人",
        uscc=uscc,
        bound_by="operator",
        today=TODAY,
    )


def person(app: Ledger, name: str = "王五") -> Account:
    return app.open_account(
        token_sha256=_token(),
        role=Role.PERSON,
        name=name,
        phone="13812345678",
        id_number=make_id_card(serial=123),
        today=TODAY,
    )


def officer(app: Ledger, division_code: str = NANAN) -> Account:
    return app.open_account(
        token_sha256=_token(),
        role=Role.OFFICER,
        name="民警",
        division_code=division_code,
        today=TODAY,
    )


def auditor(app: Ledger, prefix: str) -> Account:
    return app.open_account(
        token_sha256=_token(), role=Role.AUDITOR, name="审计", division_code=prefix, today=TODAY
    )


def letter(app: Ledger, caller: Account) -> UUID:
    """An attachment uploaded by `caller` (a stamped letter, a paper form's scan)."""
    return app.upload(
        caller=caller,
        content=b"%PDF-1.4 letter",
        media_type="application/pdf",
        filename="letter.pdf",
    ).id


# --- scenarios -------------------------------------------------------------------------------


def unit_with_owner(app: Ledger, uscc: str | None = None) -> tuple[str, Account]:
    """A unit registered online by its own legal-person account; returns (uscc, account)."""
    code = uscc or make_uscc()
    owner = legal_person(app, code)
    app.register_unit(caller=owner, fields=unit_fields(code), today=TODAY)
    return code, owner


def file_online(
    app: Ledger,
    caller: Account,
    uscc: str,
    *,
    devices: Sequence[Mapping[str, Any]] | None = None,
    today: date = TODAY,
    **overrides: Any,
) -> VideoSystem:
    outcome: Outcome = app.file_system(
        caller=caller,
        fields=system_fields(uscc, **overrides),
        devices=devices if devices is not None else [device()],
        today=today,
    )
    system: VideoSystem = outcome.aggregate
    return system

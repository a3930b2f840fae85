"""The audit view on a real PostgreSQL: a row per act, as the log says, rebuilt identically."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any, cast
from uuid import UUID

from psycopg.sql import SQL

from api.core.runtime import Runtime
from ledger import codes
from ledger.accounts import Account, Credential
from ledger.idempotency import IdempotencyRecord
from ledger.ids import event_id
from ledger.sequence import FilingSequence
from ledger.values import Role
from projections.audit import AuditView
from projections.runner import BatchRunner, ViewSlot
from tests.support.codes import NANAN, SHAPINGBA

TODAY = date(2025, 5, 6)
ID_BODY = "50010819850612301"
ID_NUMBER = ID_BODY + codes.id_card_check_char(ID_BODY)
MOBILE = "13912345678"
FIXED = "023-62881234"
USCC_BODY = "91500108MA5U7Q2K1"
USCC = USCC_BODY + codes.uscc_check_char(USCC_BODY)
PDF = b"%PDF-1.4\n%%EOF\n"
BOOKKEEPING_TOPICS = tuple(
    f"{kind.__module__}:{kind.__qualname__}"
    for kind in (
        Credential.Issued,
        Account.LinkedToUnit,
        Account.UnlinkedFromUnit,
        IdempotencyRecord.Recorded,
        FilingSequence.Started,
        FilingSequence.NumberIssued,
    )
)


@dataclass
class Story:
    legal: Account
    person: Account
    officer: Account
    system_id: UUID


def _device(name: str) -> dict[str, Any]:
    return {"device_id": None, "name": name, "address": "东门", "device_type": "dome",
            "indoor": False, "face_capture": False, "storage_days": 30}  # fmt: skip


def _tell(rt: Runtime) -> Story:
    """Every kind of act: accounts, a unit and its agent, uploads, a system filed, changed
    (and moved to another district), ordered to correct, inspected and cancelled."""
    ledger = rt.ledger
    legal = ledger.open_account(
        token_sha256="legal",
        role=Role.LEGAL_PERSON,
        name="某公司",
        phone=MOBILE,
        uscc=USCC,
        bound_by="operator",
        today=TODAY,
    )
    person = ledger.open_account(
        token_sha256="person",
        role=Role.PERSON,
        name="王五",
        phone=MOBILE,
        id_number=ID_NUMBER,
        today=TODAY,
    )
    officer = ledger.open_account(
        token_sha256="officer",
        role=Role.OFFICER,
        name="警官",
        division_code=SHAPINGBA,
        today=TODAY,
    )
    ledger.register_unit(
        caller=legal,
        fields={"uscc": USCC, "name": "某公司", "unit_type": "enterprise", "address": "南岸区",
                "division_code": NANAN, "legal_representative": "赵六", "contact_name": "王五",
                "contact_phone": FIXED, "authorization_letter_id": None,
                "business_licence_id": None},
        today=TODAY,
    )  # fmt: skip
    letter = ledger.upload(caller=legal, content=PDF, media_type="application/pdf",
                           filename="letter.pdf")  # fmt: skip
    ledger.authorise_agent(caller=legal, uscc=USCC, account_id=person.id,
                           authorization_letter_id=letter.id, today=TODAY)  # fmt: skip
    person = ledger.get_account(person.id)  # now recorded as the unit's agent
    filed = ledger.file_system(
        caller=person,
        fields={"unit_uscc": USCC, "name": "旧名字", "place_category": 2, "place_type": "park",
                "address": "公园路1号", "division_code": NANAN, "longitude": None,
                "latitude": None, "commissioned_on": date(2025, 4, 20), "storage_days": 30,
                "collection_area": "入口", "outsourced_to": None},
        devices=[_device("入口"), _device("出口")],
        today=TODAY,
    ).aggregate  # fmt: skip
    ledger.change_system(
        caller=person,
        system_id=filed.id,
        expected_version=1,
        effective_on=TODAY,
        reason=f"联系人电话{MOBILE}，身份证{ID_NUMBER}",
        changes={"name": "新名字"},
        devices_added=[_device("侧门")],
        devices_removed=["D0001"],
        today=TODAY,
    )
    ledger.change_system(
        caller=person,
        system_id=filed.id,
        expected_version=2,
        effective_on=TODAY,
        reason="迁址",
        changes={"address": "沙坪坝路2号"},
        today=TODAY,
    )
    nanan_officer = ledger.open_account(
        token_sha256="nanan-officer", role=Role.OFFICER, name="南岸警官",
        division_code=NANAN, today=TODAY,
    )  # fmt: skip
    ledger.move_system(caller=nanan_officer, system_id=filed.id, expected_version=3,
                       division_code=SHAPINGBA, reason="迁址", today=TODAY)  # fmt: skip
    ledger.upload(caller=officer, content=PDF, media_type="application/pdf", filename="scan.pdf")
    ledger.order_correction(caller=officer, system_id=filed.id, reason="补充设备",
                            due_on=date(2025, 6, 6), today=TODAY)  # fmt: skip
    ledger.record_inspection(caller=officer, system_id=filed.id, inspected_on=TODAY,
                             result="consistent", note="一致", today=TODAY)  # fmt: skip
    ledger.cancel_system(caller=person, system_id=filed.id, expected_version=6,
                         effective_on=TODAY, reason="停用", today=TODAY)  # fmt: skip
    return Story(legal=legal, person=person, officer=officer, system_id=filed.id)


def _rows(view: AuditView, table: str = "items", order: str = "position") -> list[dict[str, Any]]:
    with view.datastore.transaction(commit=False) as curs:
        curs.execute(SQL("SELECT * FROM {t} ORDER BY " + order).format(t=view.table(table)))
        return list(curs.fetchall())


def _live(rt: Runtime) -> AuditView:
    runner = rt.runner("audit")
    assert runner is not None
    runner.page_size = 4  # several batches, so state carries across transactions
    runner.catch_up()
    return cast(AuditView, runner.view)


def test_every_act_is_one_row_in_log_order_and_bookkeeping_is_left_out(
    runtime: Runtime,
) -> None:
    _tell(runtime)
    rows = _rows(_live(runtime))
    notifications = runtime.ledger.recorder.select_notifications(0, 10_000)
    acts = [n for n in notifications if n.topic not in BOOKKEEPING_TOPICS]
    assert len(acts) < len(notifications)  # there was bookkeeping to leave out
    assert [r["position"] for r in rows] == [n.id for n in acts]
    assert [r["type"] for r in rows] == [
        "account_opened", "account_opened", "account_opened", "unit_registered",
        "attachment_uploaded", "agent_authorised", "filed", "changed", "changed",
        "account_opened", "moved", "attachment_uploaded", "correction_ordered", "inspected",
        "cancelled",
    ]  # fmt: skip
    for row, notification in zip(rows, acts, strict=True):
        event: Any = runtime.ledger.mapper.to_domain_event(notification)
        assert row["event_id"] == event_id(event.originator_id, notification.originator_version)
        assert row["seq"] == notification.originator_version
        assert row["recorded_at"] == event.timestamp
        assert row["effective_on"] == getattr(event, "effective_on", None)
        actor = getattr(event, "actor", None)
        if actor is not None:
            assert (row["actor_account_id"], row["actor_role"], row["actor_name"]) == (
                actor.account_id, str(actor.role), actor.name,
            )  # fmt: skip
            assert row["on_behalf_of"] == actor.on_behalf_of
        assert "content" not in row["data"]  # an upload's bytes stay in the log


def test_a_change_row_carries_old_and_new_of_each_field_and_the_devices(
    runtime: Runtime,
) -> None:
    _tell(runtime)
    changes = [r for r in _rows(_live(runtime)) if r["type"] == "changed"]
    assert changes[0]["diff"] == {
        "name": {"old": "旧名字", "new": "新名字"},
        "devices": {"old": None, "new": None, "added": ["D0003"], "removed": ["D0001"]},
    }
    assert changes[1]["diff"] == {"address": {"old": "公园路1号", "new": "沙坪坝路2号"}}
    (moved,) = [r for r in _rows(_live(runtime)) if r["type"] == "moved"]
    assert moved["diff"] == {"division_code": {"old": NANAN, "new": SHAPINGBA}}
    assert moved["actor_role"] == "officer"


def test_each_row_belongs_to_the_system_unit_and_district_its_event_knew(
    runtime: Runtime,
) -> None:
    story = _tell(runtime)
    rows = _rows(_live(runtime))
    where = [
        (r["type"], r["system_id"], r["unit_uscc"], r["division_code"],
         r["previous_division_code"])
        for r in rows
    ]  # fmt: skip
    s = story.system_id
    assert where == [
        ("account_opened", None, None, None, None),
        ("account_opened", None, None, None, None),
        ("account_opened", None, None, None, None),
        ("unit_registered", None, USCC, NANAN, None),
        ("attachment_uploaded", None, None, None, None),  # a unit-side upload: no district
        ("agent_authorised", None, USCC, NANAN, None),
        ("filed", s, USCC, NANAN, None),
        ("changed", s, USCC, NANAN, None),
        ("changed", s, USCC, NANAN, None),
        ("account_opened", None, None, None, None),  # the officer of 南岸区
        ("moved", s, USCC, SHAPINGBA, NANAN),  # the officer's move: both districts see it
        ("attachment_uploaded", None, None, SHAPINGBA, None),  # the officer's district
        ("correction_ordered", s, USCC, SHAPINGBA, None),
        ("inspected", s, USCC, SHAPINGBA, None),
        ("cancelled", s, USCC, SHAPINGBA, None),
    ]
    opened = [r for r in rows if r["type"] == "account_opened"]
    assert [r["actor_account_id"] for r in opened][:3] == [
        str(story.legal.id), str(story.person.id), str(story.officer.id),
    ]  # fmt: skip


def test_no_id_card_or_phone_number_is_stored_in_the_view(runtime: Runtime) -> None:
    story = _tell(runtime)
    rows = _rows(_live(runtime))
    text = json.dumps([[r["data"], r["diff"], r["actor_name"]] for r in rows], ensure_ascii=False)
    for number in (ID_NUMBER, ID_BODY, MOBILE, FIXED):
        assert number not in text
    person = next(r for r in rows if r["actor_account_id"] == str(story.person.id))
    assert person["data"]["id_number"] == codes.mask_id_card(ID_NUMBER)
    assert person["data"]["phone"] == codes.mask_phone(MOBILE)
    unit = next(r for r in rows if r["type"] == "unit_registered")
    assert unit["data"]["contact_phone"] == codes.mask_phone(FIXED)
    assert unit["data"]["uscc"] == USCC  # a code is not a personal number
    reason = next(r for r in rows if r["type"] == "changed")["data"]["reason"]
    assert codes.mask_phone(MOBILE) in reason and codes.mask_id_card(ID_NUMBER) in reason


def test_a_new_generation_replayed_from_the_start_equals_the_live_one(runtime: Runtime) -> None:
    _tell(runtime)
    live = _live(runtime)
    replay_view = cast(AuditView, runtime.open_view(AuditView, 99, runtime.rules))
    slot = ViewSlot(
        name="audit", open=lambda g, r: replay_view, registry=runtime.registry, view=replay_view
    )
    replay = BatchRunner(
        app=runtime.ledger, slot=slot, conninfo=lambda: runtime.url, follow_registry=False
    )
    try:
        replay.catch_up()  # one page: the live one was written four events at a time
        assert len(_rows(live)) == 15
        assert _rows(replay_view) == _rows(live)
        assert _rows(replay_view, "systems", "system_id") == _rows(live, "systems", "system_id")
        assert _rows(replay_view, "units", "unit_id") == _rows(live, "units", "unit_id")
        assert replay_view.max_tracking_id(runtime.ledger.name) == runtime.head()
    finally:
        replay_view.datastore.close()

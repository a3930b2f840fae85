"""`psvs-ledger demo`: loads a realistic sample of 南岸区 (500108) through the ledger's own
commands, each with `today=` the day it happened, so every list and page has something true
to show. It refuses to run twice on one database. The plan is in `api.demo.plan`, the made-up
contents in `api.demo.data`.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from api.demo.data import DIVISION, Maker, UnitPlan
from api.demo.plan import SIZES, SystemPlan, plan
from api.identity.tokens import new_token
from ledger.accounts import Account
from ledger.services.application import Ledger
from ledger.values import Role

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _pdf(title: str) -> bytes:
    """A small PDF standing for a scanned paper form or a stamped letter."""
    return (
        b"%PDF-1.4\n1 0 obj << /Type /Catalog /Title ("
        + title.encode("utf-16-be").hex().encode()
        + b") >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    )


@dataclass
class Context:
    """What the acts run against: the ledger, the district's officers, the units' accounts,
    and the systems filed so far (id and version, for If-Match)."""

    ledger: Ledger
    officers: list[Account]
    accounts: dict[str, Account] = field(default_factory=dict)
    offline: dict[str, bool] = field(default_factory=dict)
    systems: dict[int, tuple[UUID, int]] = field(default_factory=dict)
    done: Counter[str] = field(default_factory=Counter)
    today: date = date(2025, 1, 1)  # the day of the act being run

    def officer(self, key: int) -> Account:
        return self.officers[key % len(self.officers)]

    def register(self, unit: UnitPlan, *, offline: bool) -> None:
        self.offline[unit.uscc] = offline
        if offline:  # keyed in at the window from the unit's stamped letter
            officer = self.officer(len(self.offline))
            letter = self.ledger.upload(
                caller=officer,
                content=_pdf(f"授权书 {unit.name}"),
                media_type="application/pdf",
                filename="授权书.pdf",
            )
            self.ledger.register_unit(
                caller=officer,
                fields={**unit.fields, "authorization_letter_id": letter.id},
                today=self.today,
            )
            self.accounts[unit.uscc] = officer
            return
        _token, digest = new_token()
        account = self.ledger.open_account(
            token_sha256=digest,
            role=Role.LEGAL_PERSON,
            name=unit.name,
            phone=unit.fields["contact_phone"],
            uscc=unit.uscc,
            bound_by="operator",
            today=self.today,
        )
        self.ledger.register_unit(caller=account, fields=unit.fields, today=self.today)
        self.accounts[unit.uscc] = account

    def _filer(self, system: SystemPlan) -> Account:
        if system.offline or self.offline[system.unit.uscc]:
            return self.officer(system.key)
        return self.accounts[system.unit.uscc]

    def file(self, system: SystemPlan, *, discovered: bool = False) -> None:
        caller = self._filer(system)
        paper = None
        if caller.role is Role.OFFICER:
            paper = self.ledger.upload(
                caller=caller,
                content=_pdf(f"备案基本信息表 {system.fields['name']}"),
                media_type="application/pdf",
                filename="备案基本信息表.pdf",
            ).id
        found = self.systems[system.key][0] if discovered else None
        outcome = self.ledger.file_system(
            caller=caller,
            fields=system.fields,
            devices=system.devices,
            today=self.today,
            discovered_system_id=found,
            paper_form_id=paper,
        )
        self.systems[system.key] = (outcome.aggregate.id, outcome.aggregate.version)

    def discover(self, system: SystemPlan) -> None:
        facts = {
            k: system.fields[k]
            for k in (
                "unit_uscc",
                "name",
                "address",
                "division_code",
                "place_category",
                "place_type",
                "commissioned_on",
            )
        }
        outcome = self.ledger.discover_system(
            caller=self.officer(system.key),
            facts=facts,
            note="日常检查中发现该系统已投入使用但未备案",
            today=self.today,
        )
        self.systems[system.key] = (outcome.aggregate.id, outcome.aggregate.version)

    def change(self, system: SystemPlan, effective: date, filed: date, what: str) -> None:
        system_id, version = self.systems[system.key]
        fields = system.fields
        changes: dict[str, Any] = {}
        added: list[dict[str, Any]] = []
        if what == "storage":
            changes["storage_days"] = 180 if fields["storage_days"] != 180 else 90
            fields["storage_days"] = changes["storage_days"]
            reason = "存储设备扩容，图像存储天数调整"
        elif what == "outsourcing":
            firm = f"重庆{system.unit.place}智能安防工程有限公司"
            if fields.get("outsourced_to") == firm:
                firm = f"重庆{system.unit.place}安防技术服务有限公司"
            changes["outsourced_to"] = fields["outsourced_to"] = firm
            reason = "运维外包单位变更"
        else:
            added = Maker(seed=system.key * 1000 + version).devices(fields, 2 + system.key % 4)
            reason = "新增图像采集设备" if what == "devices" else "按限期整改要求补充设备信息"
        changed = self.ledger.change_system(
            caller=self._filer(system),
            system_id=system_id,
            expected_version=version,
            effective_on=effective,
            reason=reason,
            changes=changes,
            devices_added=[{**d, "device_id": None} for d in added],
            today=filed,
        )
        self.systems[system.key] = (system_id, changed.version)

    def cancel(self, system: SystemPlan, effective: date, filed: date) -> None:
        system_id, version = self.systems[system.key]
        cancelled = self.ledger.cancel_system(
            caller=self._filer(system),
            system_id=system_id,
            expected_version=version,
            effective_on=effective,
            reason="场所停止营业，系统拆除停用",
            today=filed,
        )
        self.systems[system.key] = (system_id, cancelled.version)

    def order(self, system: SystemPlan, ordered: date, due: date) -> None:
        system_id, _version = self.systems[system.key]
        outcome = self.ledger.order_correction(
            caller=self.officer(system.key),
            system_id=system_id,
            reason="备案设备数量与现场检查不一致，责令限期改正",
            due_on=due,
            today=ordered,
        )
        self.systems[system.key] = (system_id, outcome.aggregate.version)

    def inspect(self, system: SystemPlan, on: date, result: str) -> None:
        system_id, _version = self.systems[system.key]
        outcome = self.ledger.record_inspection(
            caller=self.officer(system.key),
            system_id=system_id,
            inspected_on=on,
            result=result,
            note="现场检查设备数量、点位与备案信息"
            + ("一致" if result == "consistent" else "不符"),
            today=on,
        )
        self.systems[system.key] = (system_id, outcome.aggregate.version)


def _officer(ledger: Ledger, name: str, today: date) -> tuple[Account, str]:
    token, digest = new_token()
    account = ledger.open_account(
        token_sha256=digest, role=Role.OFFICER, name=name, division_code=DIVISION, today=today
    )
    return account, token


def load_demo(ledger: Ledger, *, size: str, today: date, progress: Any = None) -> dict[str, Any]:
    """Loads the demo district; returns counts and an officer's token. Refuses (ValueError)
    when the district was loaded before."""
    acts = plan(SIZES[size], ledger.rules, today)
    first_unit = next(a.uscc for a in acts if a.what == "unit" and a.uscc)
    if ledger.find_unit(first_unit) is not None:
        raise ValueError(f"the demo district is already loaded (unit {first_unit} exists)")
    officers = [_officer(ledger, name, date(2025, 1, 2)) for name in ("张警官", "李警官", "王警官")]
    ctx = Context(ledger=ledger, officers=[account for account, _token in officers])
    for number, act in enumerate(acts, start=1):
        ctx.today = act.on
        act.run(ctx)
        ctx.done[act.what] += 1
        if progress is not None:
            progress(number, len(acts))
    return {"acts": dict(ctx.done), "token": officers[0][1], "officer": officers[0][0]}


# `demo --size` names the plans of api/demo/plan.py (`large` is the one it calls "full").
DEMO_SIZES = {"small": "small", "large": "full", "full": "full"}


def run(args: argparse.Namespace, settings: Any) -> int:
    """The `psvs-ledger demo` command."""
    from api.core.runtime import open_runtime

    size = DEMO_SIZES.get(args.size, args.size)
    today = datetime.now(SHANGHAI).date()
    print(
        f"demo: loading the {args.size} 南岸区 (500108) sample: {SIZES[size].units} units"
        f"{'' if args.size == 'large' else ' (`--size large` loads 420)'}"
    )
    runtime = open_runtime(settings, projections=False)
    started = time.perf_counter()
    shown = [-1]

    def progress(number: int, total: int) -> None:
        tenth = number * 10 // total
        if tenth != shown[0]:
            shown[0] = tenth
            print(f"demo: {number:,}/{total:,} acts", file=sys.stderr)

    try:
        loaded = load_demo(runtime.ledger, size=size, today=today, progress=progress)
    except ValueError as refused:
        print(f"error: {refused}; nothing done", file=sys.stderr)
        return 1
    finally:
        runtime.close()
    seconds = time.perf_counter() - started
    counts = ", ".join(f"{what} {n:,}" for what, n in sorted(loaded["acts"].items()))
    print(f"南岸区 (500108) {args.size} demo loaded in {seconds:.0f} s: {counts}")
    print(f"officer {loaded['officer'].name} of 500108; sign in at /officer/login with the token:")
    print(loaded["token"])
    return 0

"""What `bench.scale` files: the districts, their units, and each system's dated story.

Every draw comes from a `random.Random` seeded by the district and the system's (or unit's)
index, so system n of a district is the same in every run, which is what lets a load resume.
The shares per system, on average:

- filed online by its unit with ten devices, 10% after the registration deadline;
- discovered by an officer first: 5% filed later, 1.2% never filed (a third of them due soon);
- changed once 60%, twice 30% (a fifth of the changes filed after the change deadline);
- inspected 40%, once to three times (15% of inspections find a discrepancy);
- ordered to correct 10%: met by a change (35%) or a consistent inspection (20%) in time, met
  late by a change (10%), left open past its due date (30%) or open and due soon (5%);
- cancelled 5%.

One unit (a legal-person account, its credential and the unit) has 1 to 9 systems, 5 on average.
Days run from 2025-04-01 to 2026-11-20; a draw that would fall later is left out.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from uuid import UUID, uuid5

from api.demo.data import DEVICE_TYPES, GIVEN, KINDS, PLACES, SPOTS, STREETS, SURNAMES, Kind
from ledger.codes import uscc_check_char
from ledger.rules import Rules, change_deadline, registration_deadline

START = date(2025, 4, 1)
END = date(2026, 11, 20)
DEVICES = 10
# code: (name, share of the systems, longitude, latitude)
DIVISIONS: dict[str, tuple[str, float, float, float]] = {
    "500112": ("渝北区", 0.16, 106.63, 29.72),
    "500107": ("九龙坡区", 0.13, 106.51, 29.50),
    "500106": ("沙坪坝区", 0.12, 106.45, 29.54),
    "500108": ("南岸区", 0.10, 106.56, 29.52),
    "500105": ("江北区", 0.10, 106.57, 29.60),
    "500103": ("渝中区", 0.09, 106.57, 29.55),
    "500113": ("巴南区", 0.09, 106.54, 29.40),
    "500101": ("万州区", 0.09, 108.40, 30.81),
    "500109": ("北碚区", 0.07, 106.40, 29.81),
    "500104": ("大渡口区", 0.05, 106.48, 29.48),
}
_NAMESPACE = UUID("0d7b6a4e-3c1f-4f0e-9a57-5c2b8e1d9f30")


def system_id(division: str, n: int) -> UUID:
    return uuid5(_NAMESPACE, f"bench-scale:system:{division}:{n}")


def _v4(rng: random.Random) -> UUID:
    return UUID(int=rng.getrandbits(128), version=4)


def _day(rng: random.Random, low: date, high: date) -> date:
    return low if high <= low else low + timedelta(days=rng.randrange((high - low).days + 1))


def _person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, 2))


# --- units ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class UnitPlan:
    uscc: str
    kind: Kind
    short: str
    place: str
    street: str
    fields: dict[str, Any]


def unit_indexes(division: str, count: int) -> list[int]:
    """The unit of each of the district's first `count` systems (a unit's are contiguous)."""
    rng = random.Random(f"units:{division}")
    out: list[int] = []
    unit = 0
    while len(out) < count:
        out += [unit] * rng.randint(1, 9)
        unit += 1
    return out[:count]


def unit_plan(division: str, k: int) -> UnitPlan:
    rng = random.Random(f"unit:{division}:{k}")
    district = DIVISIONS[division][0]
    kind = rng.choices(KINDS, weights=[kd.weight for kd in KINDS])[0]
    place, street = rng.choice(PLACES), rng.choice(STREETS)
    name = rng.choice(kind.names).format(place=place, name=_person(rng)[1:] + "记", street=street)
    name = name.replace("南岸区", district)
    short = name.removeprefix(f"重庆市{district}").removeprefix("重庆").removeprefix(district)
    short = short.replace("有限公司", "").replace("人民政府", "").replace("办事处", "")
    body = f"{kind.uscc_prefix}{division}{k:09d}"
    uscc = body + uscc_check_char(body)
    phone = (
        f"023-6{rng.randrange(10**6, 10**7):07d}"
        if rng.random() < 0.5
        else f"1{rng.choice('3589')}{rng.randrange(10**8, 10**9)}"
    )
    fields = {
        "uscc": uscc,
        "name": name,
        "unit_type": kind.unit_type,
        "address": f"重庆市{district}{street}{rng.randrange(1, 300)}号",
        "division_code": division,
        "legal_representative": _person(rng),
        "contact_name": _person(rng),
        "contact_phone": phone,
        "authorization_letter_id": None,
        "business_licence_id": None,
    }
    return UnitPlan(uscc, kind, short, place, street, fields)


# --- a system's story -------------------------------------------------------------------------
@dataclass(frozen=True)
class Act:
    """One act after the filing; `filed_on` is the day it reached the ledger (its `today`)."""

    what: str  # change | inspect | order | cancel
    effective_on: date
    filed_on: date
    kind: str = ""  # what a change changes
    uid: UUID | None = None
    due_on: date | None = None
    result: str = "consistent"
    seed: int = 0

    def change(self, system: Any) -> dict[str, Any]:
        """The change's arguments against the system as it stands."""
        fields = system.fields
        if self.kind == "storage":
            days = 180 if fields["storage_days"] != 180 else 90
            return _change("存储设备扩容，图像存储天数调整", {"storage_days": days})
        if self.kind == "outsourcing":
            firm = f"重庆{PLACES[self.seed % len(PLACES)]}智能安防工程有限公司"
            if fields.get("outsourced_to") == firm:
                firm = firm.replace("智能安防工程", "安防技术服务")
            return _change("运维外包单位变更", {"outsourced_to": firm})
        rng = random.Random(self.seed)
        added = [{**d, "device_id": None} for d in devices(rng, fields, 2)]
        removed = [next(iter(system.devices))] if self.kind == "devices" else []
        reason = "更换图像采集设备" if removed else "按限期整改要求补充设备信息"
        return _change(reason, {}, added, removed)


def _change(
    reason: str,
    changes: dict[str, Any],
    added: list[dict[str, Any]] | None = None,
    removed: list[str] | None = None,
) -> dict[str, Any]:
    return {
        "reason": reason,
        "changes": changes,
        "devices_added": added or [],
        "devices_removed": removed or [],
    }


@dataclass
class Story:
    fields: dict[str, Any]
    devices: list[dict[str, Any]]
    found_on: date | None
    filed_on: date | None
    unit_lead: timedelta
    acts: list[Act] = field(default_factory=list)

    @property
    def first_day(self) -> date:
        day = self.found_on or self.filed_on
        assert day is not None
        return day


def devices(rng: random.Random, system: dict[str, Any], count: int) -> list[dict[str, Any]]:
    """Device rows as the API passes them on; three in four carry a GB/T 28181 ID."""
    rows = []
    division = system["division_code"]
    for number in range(1, count + 1):
        spot, indoor = rng.choice(SPOTS)
        device_id = None
        if rng.random() < 0.75:
            device_id = (
                f"{division}00{rng.choice(('00', '01', '05'))}{rng.choice(('131', '132'))}"
                f"{rng.randrange(2)}{rng.randrange(10**6):06d}"
            )
        rows.append(
            {
                "device_id": device_id,
                "name": f"{spot}{number}号摄像机",
                "address": f"{system['address']}{spot}",
                "longitude": system["longitude"],
                "latitude": system["latitude"],
                "device_type": rng.choices(
                    [t for t, _ in DEVICE_TYPES], weights=[w for _, w in DEVICE_TYPES]
                )[0],
                "indoor": indoor,
                "face_capture": rng.random() < 0.12,
                "storage_days": system["storage_days"],
            }
        )
    # A repeated ID is refused; a repeat (one in a million per pair) becomes a keyed row.
    seen: set[str] = set()
    for row in rows:
        if row["device_id"] in seen:
            row["device_id"] = None
        elif row["device_id"]:
            seen.add(row["device_id"])
    return rows


def _fields(
    rng: random.Random, division: str, n: int, unit: UnitPlan, commissioned: date
) -> dict[str, Any]:
    district, _share, lon, lat = DIVISIONS[division]
    category, place_type, pattern = unit.kind.systems[n % len(unit.kind.systems)]
    name = pattern.format(unit_short=unit.short, n=n % 97 + 1, place=unit.place, street=unit.street)
    return {
        "unit_uscc": unit.uscc,
        "name": name,
        "place_category": category,
        "place_type": place_type,
        "address": f"重庆市{district}{unit.street}{rng.randrange(1, 400)}号",
        "division_code": division,
        "longitude": round(lon + (rng.random() - 0.5) * 0.2, 5),
        "latitude": round(lat + (rng.random() - 0.5) * 0.12, 5),
        "commissioned_on": commissioned,
        "storage_days": rng.choice((30, 30, 60, 90, 90, 180)),
        "collection_area": f"{name.removesuffix('视频监控系统')}出入口、公共区域及周边",
        "outsourced_to": (
            f"重庆{rng.choice(PLACES)}安防科技有限公司" if rng.random() < 0.3 else None
        ),
    }


def story(division: str, n: int, unit: UnitPlan, rules: Rules) -> Story:
    """System n of the district: its filing (or discovery) and what follows, dated."""
    rng = random.Random(f"{division}:{n}")
    legacy = rng.random() < 0.15
    # Most systems went into use early, leaving their story room before END.
    span = (date(2026, 10, 15) - START).days
    commissioned = (
        _day(rng, date(2022, 1, 1), START - timedelta(days=1))
        if legacy
        else START + timedelta(days=int(rng.triangular(0, span, span * 0.2)))
    )
    role, late = rng.random(), rng.random() < 0.10
    if role < 0.012 and rng.random() < 0.33:  # due soon: put into use about three weeks ago
        commissioned = END - timedelta(days=rng.randint(18, 24))
    fields = _fields(rng, division, n, unit, commissioned)
    rows = devices(rng, fields, DEVICES)
    lead = timedelta(days=rng.randint(1, 10))
    due = registration_deadline(commissioned, rules).due_on
    if role < 0.012:  # found after its due date (or, when recent, in the last days)
        low = max(min(due + timedelta(days=10), END - timedelta(days=3)), commissioned)
        found = _day(rng, low, END)
        return Story(fields, rows, found, None, lead)
    found_on = None
    if role < 0.062 and due + timedelta(days=10) < END - timedelta(days=70):
        found_on = _day(rng, due + timedelta(days=10), END - timedelta(days=70))
        filed = found_on + timedelta(days=rng.randint(3, 60))
    elif late:
        filed = min(_day(rng, due + timedelta(days=3), due + timedelta(days=150)), END)
    else:
        filed = _day(rng, max(commissioned, START) + timedelta(days=1), due)
    filed = min(filed, END)
    return Story(fields, rows, found_on, filed, lead, _after_filing(rng, filed, rules))


def _after_filing(rng: random.Random, filed: date, rules: Rules) -> list[Act]:
    changes = 2 if (c := rng.random()) < 0.30 else 1 if c < 0.60 else 0
    inspections = 0 if rng.random() >= 0.40 else rng.randint(1, 3)
    order = rng.random() < 0.10
    outcome = rng.choices(range(5), weights=(35, 20, 10, 30, 5))[0]
    cancel = rng.random() < 0.05
    acts: list[Act] = []
    last = filed

    def add(act: Act) -> bool:
        nonlocal last
        if act.filed_on > END or act.effective_on > END:
            return False
        acts.append(act)
        last = act.filed_on
        return True

    def change(after: date, kind: str) -> None:
        effective = after + timedelta(days=rng.randint(10, 90))
        due = change_deadline(effective, rules).due_on
        on = (
            _day(rng, due + timedelta(days=2), due + timedelta(days=90))
            if rng.random() < 0.2
            else _day(rng, effective, due)
        )
        add(Act("change", effective, on, kind=kind, seed=rng.getrandbits(32)))

    def inspect(on: date, result: str) -> bool:
        return add(Act("inspect", on, on, uid=_v4(rng), result=result))

    if changes:
        change(last, rng.choice(("storage", "devices", "outsourcing")))
    for _ in range(inspections):
        on = last + timedelta(days=rng.randint(5, 60))
        inspect(on, "consistent" if rng.random() < 0.85 else "discrepancy")
    if order:
        _order(rng, outcome, last, add, inspect)
    if changes == 2:
        change(last, rng.choice(("storage", "devices", "outsourcing")))
    if cancel:
        effective = last + timedelta(days=rng.randint(10, 120))
        add(Act("cancel", effective, effective + timedelta(days=rng.randint(0, 20))))
    return acts


def _order(rng: random.Random, outcome: int, last: date, add: Any, inspect: Any) -> None:
    """An order, then its answer: 0 a change in time, 1 a consistent inspection in time,
    2 a change after the due date, 3 none (overdue), 4 none yet (due within days of END)."""
    if outcome == 4:
        ordered = END - timedelta(days=rng.randint(0, 4))
        due = END + timedelta(days=rng.randint(8, 14))
        if ordered > last:
            add(Act("order", ordered, ordered, uid=_v4(rng), due_on=due))
        return
    ordered = last + timedelta(days=rng.randint(10, 60))
    due = ordered + timedelta(days=rng.randint(15, 30))
    if not add(Act("order", ordered, ordered, uid=_v4(rng), due_on=due)) or outcome == 3:
        return
    if outcome == 2:
        answered = _day(rng, due + timedelta(days=2), due + timedelta(days=40))
    else:
        answered = _day(rng, ordered + timedelta(days=1), due)
    if outcome == 1:
        inspect(answered, "consistent")
    else:
        add(
            Act(
                "change",
                answered - timedelta(days=1),
                answered,
                kind="correction",
                seed=rng.getrandbits(32),
            )
        )

"""The demo district's story: which unit does what on which day.

`plan` turns drawn units and systems into dated acts (register, file, change, cancel, discover,
order a correction, inspect), each a call of the ledger's own commands with `today=` its day.
Quotas, not chance alone, decide how many systems are late, changed, cancelled, discovered or
ordered to correct, so even the small demo has something on every overdue list.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from api.demo.data import DIVISION, KINDS, Maker, UnitPlan
from ledger.rules import Rules, change_deadline, registration_deadline

REGULATION = date(2025, 4, 1)
FIRST_DAY = date(2025, 1, 6)


@dataclass(frozen=True)
class Size:
    units: int
    systems_per_unit: tuple[int, int]
    due_soon: int


SIZES = {"small": Size(20, (3, 5), 2), "full": Size(420, (2, 12), 12)}


@dataclass(order=True)
class Act:
    on: date
    seq: int
    what: str = field(compare=False)
    run: Callable[[Any], None] = field(compare=False, repr=False)
    uscc: str | None = field(default=None, compare=False)


@dataclass
class SystemPlan:
    key: int
    unit: UnitPlan
    fields: dict[str, Any]
    devices: list[dict[str, Any]]
    offline: bool


class Planner:
    """Collects acts; `ctx` (api.demo.command.Context) is what each act runs against."""

    def __init__(self, maker: Maker, rules: Rules, today: date) -> None:
        self.maker, self.rules, self.today = maker, rules, today
        self.random = maker.random
        self.acts: list[Act] = []
        self.seq = itertools.count()
        self.offline_units: dict[str, bool] = {}

    def add(self, plan: SystemPlan, on: date, what: str, run: Callable[[Any], None]) -> None:
        act = Act(min(on, self.today), next(self.seq), what, run, plan.unit.uscc)
        self.acts.append(act)

    def day_between(self, low: date, high: date) -> date:
        high = min(high, self.today)
        if high <= low:
            return min(low, self.today)
        return low + timedelta(days=self.random.randrange((high - low).days + 1))

    # --- units and systems ---------------------------------------------------------------
    def commissioned(self) -> date:
        if self.random.random() < 0.45:
            return self.day_between(date(2018, 3, 1), REGULATION - timedelta(days=1))
        return self.day_between(REGULATION, self.today - timedelta(days=60))

    def due(self, commissioned_on: date) -> date:
        return registration_deadline(commissioned_on, self.rules).due_on

    def systems(self, size: Size) -> list[SystemPlan]:
        plans: list[SystemPlan] = []
        for number in range(size.units):
            # One unit of every kind first, so even the small demo has all five categories.
            unit = self.maker.unit(KINDS[number] if number < len(KINDS) else None)
            offline_unit = self.random.random() < 0.3
            count = self.random.randint(*size.systems_per_unit)
            for index in range(count):
                fields = self.maker.system(unit, index, self.commissioned())
                devices = self.maker.devices(fields, self.maker.camera_count(unit))
                offline = offline_unit or self.random.random() < 0.1
                plans.append(SystemPlan(len(plans), unit, fields, devices, offline))
            self.offline_units[unit.uscc] = offline_unit
        return plans

    def register_units(self, plans: list[SystemPlan]) -> None:
        """Each unit registers a few days before its first act (before everything else on
        that day, as acts of one day run in the order planned)."""
        first: dict[str, date] = {}
        for act in self.acts:
            if act.uscc is not None:
                first[act.uscc] = min(act.on, first.get(act.uscc, act.on))
        units = {p.unit.uscc: p.unit for p in plans}
        for uscc, on in first.items():
            unit, offline = units[uscc], self.offline_units[uscc]
            day = on - timedelta(days=self.random.randint(1, 10))
            self.acts.append(Act(day, -1, "unit", _registers(unit, offline=offline), uscc))

    # --- the story of each system ----------------------------------------------------------
    def story(self, plans: list[SystemPlan], size: Size) -> None:
        """Deals out the roles: the first few are due soon, then discoveries (half of them
        filed later), then late filings, then filings in time; what follows a filing is
        decided by its place in a cycle of 100 (see `after_filing`)."""
        order = list(plans)
        self.random.shuffle(order)
        discovered = max(4, len(order) * 6 // 100)
        late = max(3, len(order) * 12 // 100)
        for done, plan in enumerate(order):
            if done < size.due_soon:
                self.due_soon(plan)
                continue
            done -= size.due_soon
            if done < discovered:
                self.discovered(plan, filed_later=done % 2 == 0)
                continue
            done -= discovered
            filed_on = self.filed(plan, late=done < late)
            self.after_filing(plan, filed_on, done % 100)

    def due_soon(self, plan: SystemPlan) -> None:
        """Put into use about four weeks ago, found by an officer, due within days."""
        plan.fields["commissioned_on"] = self.today - timedelta(days=self.random.randint(23, 27))
        self.add(plan, self.today - timedelta(days=1), "discovery", lambda ctx: ctx.discover(plan))

    def discovered(self, plan: SystemPlan, *, filed_later: bool) -> None:
        found = self.day_between(
            self.due(plan.fields["commissioned_on"]) + timedelta(days=10),
            self.today - timedelta(days=30),
        )
        self.add(plan, found, "discovery", lambda ctx: ctx.discover(plan))
        if filed_later:
            on = self.day_between(found + timedelta(days=3), found + timedelta(days=60))
            self.add(plan, on, "filing", lambda ctx: ctx.file(plan, discovered=True))

    def filed(self, plan: SystemPlan, *, late: bool) -> date:
        commissioned = plan.fields["commissioned_on"]
        due = self.due(commissioned)
        if late:
            on = self.day_between(due + timedelta(days=3), due + timedelta(days=150))
        else:
            on = self.day_between(max(commissioned, REGULATION) + timedelta(days=1), due)
        self.add(plan, on, "filing", lambda ctx: ctx.file(plan))
        return on

    def after_filing(self, plan: SystemPlan, filed_on: date, slot: int) -> None:
        """Changes (slots 0-17, every fourth late, the first four changed twice), correction
        orders (20-25, one per outcome), inspections (30-32) and cancellations (40-43)."""
        last = filed_on
        if slot < 18:
            last = self.change(plan, after=last, late=slot % 4 == 1)
            if slot < 4:
                last = self.change(plan, after=last, late=False)
        elif 20 <= slot <= 25:
            last = self.order(plan, after=last, outcome=slot - 20)
        elif 30 <= slot <= 32:
            inspected = self.day_between(last + timedelta(days=5), last + timedelta(days=120))
            result = "consistent" if slot != 32 else "discrepancy"
            self.add(
                plan, inspected, "inspection", lambda ctx: ctx.inspect(plan, inspected, result)
            )
        elif 40 <= slot <= 43:
            effective = self.day_between(last + timedelta(days=10), last + timedelta(days=200))
            filed = self.day_between(effective, effective + timedelta(days=20))
            self.add(plan, filed, "cancellation", lambda ctx: ctx.cancel(plan, effective, filed))

    def change(self, plan: SystemPlan, *, after: date, late: bool) -> date:
        effective = self.day_between(after + timedelta(days=15), after + timedelta(days=200))
        due = change_deadline(effective, self.rules).due_on
        if late:
            filed = self.day_between(due + timedelta(days=2), due + timedelta(days=90))
        else:
            filed = self.day_between(effective, due)
        what = self.random.choice(("storage", "devices", "outsourcing"))
        self.add(plan, filed, "change", lambda ctx: ctx.change(plan, effective, filed, what))
        return filed

    def order(self, plan: SystemPlan, *, after: date, outcome: int) -> date:
        """An order; outcome 0-1 met by a change in time, 2 met late, 3 met by a consistent
        inspection, 4 left open past its due day, 5 open and due within days."""
        if outcome == 5:
            ordered = self.today - timedelta(days=5)
            due = self.today + timedelta(days=self.random.randint(2, 6))
        else:
            ordered = self.day_between(after + timedelta(days=20), self.today - timedelta(days=90))
            due = ordered + timedelta(days=self.random.randint(15, 30))
        if ordered <= after:
            return after
        self.add(plan, ordered, "order", lambda ctx: ctx.order(plan, ordered, due))
        if outcome in (4, 5):
            return ordered
        if outcome == 2:
            answered = self.day_between(due + timedelta(days=2), due + timedelta(days=40))
        else:
            answered = self.day_between(ordered + timedelta(days=1), due)
        if outcome == 3:
            self.add(
                plan, answered, "inspection", lambda ctx: ctx.inspect(plan, answered, "consistent")
            )
        else:
            effective = answered - timedelta(days=1)
            self.add(
                plan,
                answered,
                "change",
                lambda ctx: ctx.change(plan, effective, answered, "correction"),
            )
        return answered


def _registers(unit: UnitPlan, *, offline: bool) -> Callable[[Any], None]:
    return lambda ctx: ctx.register(unit, offline=offline)


def plan(size: Size, rules: Rules, today: date, seed: int = 500108) -> list[Act]:
    """Every act of the demo district, in the order they happened (by day, then as planned)."""
    planner = Planner(Maker(seed), rules, today)
    systems = planner.systems(size)
    planner.story(systems, size)
    planner.register_units(systems)
    assert all(p.fields["division_code"] == DIVISION for p in systems)
    return sorted(planner.acts)

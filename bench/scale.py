"""Loads a district-wide log of many systems (1,000,000 for the scale run) through the ledger's
own aggregates and `Ledger.save`, a batch of systems per transaction.

    .venv/bin/python -m bench.scale --systems 1000000 --processes 2 \\
        --database postgresql://postgres@127.0.0.1:5432/psvs_scale [--data-dir DIR] [--resume]

Ten Chongqing districts share the systems; 南岸区 (500108) holds a tenth of them (100,000 of
a million), the district the overdue goal is stated for. Each worker process owns whole
districts, so the filing sequences (one per district and year) never collide. Every unit opens
a legal-person account and registers itself; its systems are filed online with ten devices
each, then changed, inspected, ordered to correct and cancelled by the shares in
`bench.scale_story`, all dated 2025-04-01..2026-11-20, so the overdue view has every kind.
The events are those the commands record: the same aggregate methods, fields and actors.

The database is created when missing; a ledger that already has events is refused unless
`--resume`, which continues each district after its last saved batch. Systems have
deterministic ids and each batch (its systems, their units and filing numbers) is one
transaction, so the saved systems of a district are always a prefix of its plan. The data
directory holds the generated encryption key that sealed the accounts' phone numbers: serve
the database with the same `LEDGER_DATA_DIR`.
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import queue
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.application import AggregateNotFoundError
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from api.core.runtime import open_runtime
from api.core.settings import Settings
from bench.scale_story import DIVISIONS, Story, UnitPlan, story, system_id, unit_indexes, unit_plan
from ledger import codes
from ledger.access import actor_of
from ledger.accounts import Account, Credential
from ledger.ids import filing_sequence_id
from ledger.sequence import FilingSequence
from ledger.services.application import Ledger
from ledger.systems import VideoSystem
from ledger.units import Unit
from ledger.values import Actor, Channel, Role

PROGRESS_SECONDS = 10.0
YEARS = (2025, 2026)
OFFICERS_PER_DIVISION = 3


def division_sizes(systems: int) -> dict[str, int]:
    """Systems per district, by the districts' shares, summing to `systems` exactly."""
    exact = {code: systems * district[1] for code, district in DIVISIONS.items()}
    sizes = {code: int(value) for code, value in exact.items()}
    by_remainder = sorted(exact, key=lambda code: exact[code] - sizes[code], reverse=True)
    for code in by_remainder[: systems - sum(sizes.values())]:
        sizes[code] += 1
    return sizes


def assign(sizes: dict[str, int], processes: int) -> list[dict[str, int]]:
    """Whole districts per process, largest first to the least loaded."""
    owned: list[dict[str, int]] = [{} for _ in range(processes)]
    for code in sorted(sizes, key=lambda c: sizes[c], reverse=True):
        least = min(owned, key=lambda o: sum(o.values()))
        least[code] = sizes[code]
    return [o for o in owned if o]


class DistrictLoader:
    """Files one district's systems in plan order, a batch per transaction."""

    def __init__(self, ledger: Ledger, division: str, target: int, *, resume: bool) -> None:
        self.ledger, self.division, self.target = ledger, division, target
        self.unit_of = unit_indexes(division, target)
        self.done = self._saved_prefix() if resume else 0
        self.sequences = {year: self._sequence(year) for year in YEARS}
        self.officers = self._officers()
        self.actors: dict[int, Actor] = {}
        self.plans: dict[int, UnitPlan] = {}
        self.day_rules: dict[date, Any] = {}

    # --- where a resumed district stands ------------------------------------------------------
    def _exists(self, n: int) -> bool:
        return bool(self.ledger.recorder.select_events(system_id(self.division, n), limit=1))

    def _saved_prefix(self) -> int:
        """How many of the plan's systems are saved: batches are atomic and in plan order, so
        they are a prefix of it; a binary search on the deterministic ids finds its end."""
        low, high = 0, self.target  # systems [0, low) are saved, [high, target) are not
        while low < high:
            middle = (low + high) // 2
            if self._exists(middle):
                low = middle + 1
            else:
                high = middle
        return low

    def _sequence(self, year: int) -> FilingSequence:
        try:
            found: FilingSequence = self.ledger.repository.get(
                filing_sequence_id(self.division, year)
            )
        except AggregateNotFoundError:  # the first filing of that year starts it
            return FilingSequence.start(division_code=self.division, year=year)
        return found

    def issued(self) -> int:
        return sum(sequence.last_number for sequence in self.sequences.values())

    def _officers(self) -> list[Account]:
        """Officers of the district (a resumed run opens new ones: a few more accounts)."""
        officers = []
        name = DIVISIONS[self.division][0]
        for k in range(OFFICERS_PER_DIVISION):
            account = Account.open(
                role=Role.OFFICER, name=f"{name}民警{k + 1}", division_code=self.division
            )
            officers.append(account)
        credentials = [_credential(a.id) for a in officers]
        self.ledger.save(*officers, *credentials)
        return officers

    # --- one batch ----------------------------------------------------------------------------
    def step(self, batch: int) -> int:
        """Saves the next `batch` systems; returns the events saved."""
        first = self.done
        last = min(first + batch, self.target)
        unit_side: list[Any] = []
        systems: list[VideoSystem] = []
        for n in range(first, last):
            k = self.unit_of[n]
            plan = self.plans[k] if k in self.plans else self._plan(k)
            planned = story(self.division, n, plan, self.ledger.rules)
            actor = self._unit_actor(k, n, plan, planned, unit_side)
            systems.append(self._system(n, planned, actor))
        touched = [s for s in self.sequences.values() if s.pending_events]
        events = sum(len(a.pending_events) for a in (*unit_side, *systems, *touched))
        self.ledger.save(*unit_side, *systems, *touched)
        self.done = last
        return events

    def _rules(self, day: date) -> Any:
        if day not in self.day_rules:
            self.day_rules[day] = self.ledger.field_rules(day)
        return self.day_rules[day]

    def _plan(self, k: int) -> UnitPlan:
        self.plans = {k: unit_plan(self.division, k)}  # a unit's systems are contiguous
        return self.plans[k]

    def _unit_actor(self, k: int, n: int, plan: UnitPlan, planned: Story, out: list[Any]) -> Actor:
        """The unit's legal-person actor: registered with its first system, else known."""
        if k in self.actors:
            return self.actors[k]
        if n > 0 and self.unit_of[n - 1] == k:  # registered in an earlier run's batch
            unit = self.ledger.find_unit(plan.uscc)
            assert unit is not None, f"unit {plan.uscc} of a saved system is missing"
            actor: Actor = unit.registered_by
        else:
            actor = self._register(plan, planned.first_day - planned.unit_lead, out)
        self.actors = {k: actor}  # a unit's systems are contiguous: keep only the current one
        return actor

    def _register(self, plan: UnitPlan, day: date, out: list[Any]) -> Actor:
        phone = plan.fields["contact_phone"]
        account = Account.open(
            role=Role.LEGAL_PERSON,
            name=plan.fields["name"],
            phone=self.ledger.cipher.seal(phone, field="phone", hint=codes.mask_phone(phone)),
            uscc=plan.uscc,
            bound_by="operator",
        )
        actor = actor_of(account, on_behalf_of=plan.uscc)
        unit = Unit.register(
            **plan.fields,
            actor=actor,
            channel=str(Channel.ONLINE),
            effective_on=day,
            request_digest="",
            verification="confirmed",
        )
        out += [account, _credential(account.id), unit]
        return actor

    def _officer(self, n: int, on_behalf_of: str | None = None) -> Actor:
        return actor_of(self.officers[n % len(self.officers)], on_behalf_of=on_behalf_of)

    def _system(self, n: int, planned: Story, actor: Actor) -> VideoSystem:
        sid = system_id(self.division, n)
        if planned.found_on is not None:
            facts = {
                k: planned.fields[k]
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
            system = VideoSystem.discover(
                system_id=sid,
                facts=facts,
                note="日常检查中发现该系统已投入使用但未备案",
                rules=self._rules(planned.found_on),
                actor=self._officer(n, on_behalf_of=planned.fields["unit_uscc"]),
                effective_on=planned.found_on,
                request_digest="",
            )
            if planned.filed_on is None:
                return system
            system.file_discovered(
                filing_number=self.sequences[planned.filed_on.year].issue(sid),
                fields={**system.fields, **planned.fields, **_EXTRA},
                devices=planned.devices,
                rules=self._rules(planned.filed_on),
                actor=actor,
                channel=Channel.ONLINE,
                effective_on=planned.filed_on,
                request_digest="",
            )
        else:
            assert planned.filed_on is not None
            system = VideoSystem.file(
                system_id=sid,
                filing_number=self.sequences[planned.filed_on.year].issue(sid),
                fields={**planned.fields, **_EXTRA},
                devices=planned.devices,
                rules=self._rules(planned.filed_on),
                actor=actor,
                channel=Channel.ONLINE,
                effective_on=planned.filed_on,
                request_digest="",
            )
        for act in planned.acts:
            self._act(system, n, act, actor)
        return system

    def _act(self, system: VideoSystem, n: int, act: Any, actor: Actor) -> None:
        if act.what == "change":
            change = act.change(system)
            system.change(
                **change,
                rules=self._rules(act.filed_on),
                actor=actor,
                channel=Channel.ONLINE,
                effective_on=act.effective_on,
                filed_on=act.filed_on,
            )
        elif act.what == "cancel":
            system.cancel(
                reason="场所停止营业，系统拆除停用",
                actor=actor,
                channel=Channel.ONLINE,
                effective_on=act.effective_on,
                filed_on=act.filed_on,
            )
        elif act.what == "order":
            system.order_correction(
                order_id=str(act.uid),
                reason="备案设备数量与现场检查不一致，责令限期改正",
                due_on=act.due_on,
                actor=self._officer(n),
                today=act.filed_on,
            )
        else:
            system.record_inspection(
                inspection_id=str(act.uid),
                inspected_on=act.effective_on,
                result=act.result,
                note="现场检查设备数量、点位与备案信息"
                + ("一致" if act.result == "consistent" else "不符"),
                actor=self._officer(n + 1),
                today=act.filed_on,
            )


# What `file_system` adds to the fields of an online filing without attachments.
_EXTRA = {"paper_form_id": None, "device_sheet_id": None}


def _credential(account_id: UUID) -> Credential:
    """A credential for a token nobody keeps: the accounts exist, nobody signs in as them."""
    token_hash = hashlib.sha256(account_id.bytes + b"bench-scale").hexdigest()
    return Credential.issue(token_sha256=token_hash, account_id=account_id, expires_at=None)


# --- processes --------------------------------------------------------------------------------
def work(
    url: str, data_dir: str, owned: dict[str, int], batch: int, resume: bool, reports: Any
) -> None:
    """One worker: its districts in turn, a batch each, reporting (district, done, events)."""
    runtime = open_runtime(Settings(database_url=url, data_dir=Path(data_dir)), projections=False)
    try:
        loaders = [
            DistrictLoader(runtime.ledger, code, target, resume=resume)
            for code, target in owned.items()
        ]
        for loader in loaders:
            reports.put((loader.division, loader.done, 0, loader.issued()))
        while active := [loader for loader in loaders if loader.done < loader.target]:
            for loader in active:
                events = loader.step(batch)
                reports.put((loader.division, loader.done, events, loader.issued()))
    finally:
        runtime.close()


def prepare_database(url: str, *, resume: bool) -> None:
    """Creates the database when missing; refuses a ledger with events unless resuming."""
    params = conninfo_to_dict(url)
    name = str(params.get("dbname", "postgres"))
    server = make_conninfo(url, dbname="postgres")
    with psycopg.connect(server, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"created database {name}", file=sys.stderr)
            return
    with psycopg.connect(url) as conn:
        table = conn.execute("SELECT to_regclass('ledger_events')").fetchone()
        has_events = (
            table is not None
            and table[0] is not None
            and conn.execute("SELECT EXISTS (SELECT 1 FROM ledger_events)").fetchone() == (True,)
        )
    if has_events and not resume:
        raise SystemExit(f"error: {name} already holds a ledger; --resume continues it")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--systems", type=int, default=1_000_000)
    parser.add_argument("--database", required=True, help="postgresql://... (created if missing)")
    parser.add_argument("--data-dir", default="var", help="where the encryption key lives")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--batch", type=int, default=200, help="systems per transaction")
    parser.add_argument("--resume", action="store_true", help="continue a partly loaded ledger")
    args = parser.parse_args()
    prepare_database(args.database, resume=args.resume)
    sizes = division_sizes(args.systems)
    context = multiprocessing.get_context("spawn")
    reports = context.Queue()
    workers = [
        context.Process(
            target=work,
            args=(args.database, args.data_dir, owned, args.batch, args.resume, reports),
            name=f"scale-{k}",
        )
        for k, owned in enumerate(assign(sizes, args.processes))
    ]
    for worker in workers:
        worker.start()
    _follow(workers, reports, sizes)
    # A bulk load leaves no statistics where autovacuum is off (as on this machine's server):
    # the planner would then read one system's events with a parallel scan.
    with psycopg.connect(args.database, autocommit=True) as conn:
        conn.execute("ANALYZE ledger_events")


def _follow(workers: list[Any], reports: Any, sizes: dict[str, int]) -> None:
    """Prints progress every PROGRESS_SECONDS until every worker ends; the summary last."""
    started = last_shown = time.perf_counter()
    done: dict[str, int] = {}
    issued: dict[str, int] = {}
    events = shown_events = 0
    at_start: int | None = None
    total = sum(sizes.values())
    while any(w.is_alive() for w in workers) or not reports.empty():
        try:
            division, count, saved, numbers = reports.get(timeout=1.0)
            done[division], issued[division] = count, numbers
            events += saved
        except queue.Empty:
            pass
        if at_start is None and len(done) == len(sizes):
            at_start = sum(done.values())
            print(f"starting at {at_start:,} of {total:,} systems", file=sys.stderr)
        if any(w.exitcode not in (None, 0) for w in workers):
            for w in workers:
                w.terminate()
            raise SystemExit("error: a worker failed (its traceback is above)")
        now = time.perf_counter()
        if now - last_shown >= PROGRESS_SECONDS:
            systems = sum(done.values())
            rate = (events - shown_events) / (now - last_shown)
            new = systems - (at_start or 0)
            eta = (total - systems) / (new / (now - started)) if new else float("nan")
            print(
                f"{now - started:7.0f} s  {systems:>9,}/{total:,} systems  {events:>11,} events"
                f"  {rate:8,.0f} events/s now, {events / (now - started):8,.0f} overall"
                f"  eta {eta / 60:6.1f} min",
                file=sys.stderr,
                flush=True,
            )
            last_shown, shown_events = now, events
    seconds = time.perf_counter() - started
    new = sum(done.values()) - (at_start or 0)
    print(
        f"done: {sum(done.values()):,} systems ({new:,} this run) in {seconds:,.0f} s;"
        f" {events:,} events this run, {events / max(new, 1):.2f} per system;"
        f" {events / seconds:,.0f} events/s, {new / seconds:,.0f} systems/s;"
        f" filing numbers issued {sum(issued.values()):,}"
    )
    for division in sorted(done):
        print(
            f"  {division} {DIVISIONS[division][0]}: {done[division]:,} systems,"
            f" {issued[division]:,} filed"
        )


if __name__ == "__main__":
    main()

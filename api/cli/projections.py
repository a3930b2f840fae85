"""`psvs-ledger projections status` and `psvs-ledger projections rebuild NAME [--rules FILE]`."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from api.core.settings import Settings


def status(args: argparse.Namespace, settings: Settings) -> int:
    from api.core.runtime import open_runtime
    from ledger.rules import calendar_version, rules_from_text

    runtime = open_runtime(settings, projections=False)
    try:
        head = runtime.head()
        configured = rules_from_text(runtime.configured_rules, source="LEDGER_RULES")
        print(f"log head {head}; configured rules {configured.version} ({configured.digest})")
        print(f"{'view':8} {'gen':>4} {'position':>10} {'lag':>8}  {'rules':24} state")
        for entry in runtime.registry.all():
            position = runtime.view_position(entry.name)
            rules = f"{entry.rules.version} ({entry.rules.digest})"
            print(
                f"{entry.name:8} {entry.generation:>4} {position:>10} {head - position:>8}"
                f"  {rules:24} {_view_state(entry, configured, calendar_version())}"
            )
        return 0
    finally:
        runtime.close()


def _view_state(entry: Any, configured: Any, calendar: str) -> str:
    notes = []
    if entry.building is not None:
        notes.append(f"rebuilding into generation {entry.building} (resumable)")
    if entry.rules.digest != configured.digest:
        notes.append("rules differ from the configured ones: rebuild to apply them")
    if entry.calendar_version != calendar:
        notes.append(f"built with calendar {entry.calendar_version}, now {calendar}: rebuild")
    return "; ".join(notes) or "live"


class _Progress:
    """A progress line on stderr: redrawn in place on a terminal, every 10% otherwise."""

    def __init__(self, name: str, head: int) -> None:
        import time

        self.name, self.head, self.started = name, max(head, 1), time.perf_counter()
        self.tty = sys.stderr.isatty()
        self.shown = -1

    def __call__(self, position: int) -> None:
        import time

        share = min(position / self.head, 1.0)
        tenth = int(share * 10)
        if not self.tty and tenth == self.shown:
            return
        self.shown = tenth
        rate = position / max(time.perf_counter() - self.started, 1e-9)
        filled = int(share * 30)
        line = (
            f"{self.name}: [{'#' * filled}{'.' * (30 - filled)}] {share:6.1%}"
            f"  position {position:,}/{self.head:,}  {rate:,.0f} events/s"
        )
        print(("\r" + line) if self.tty else line, end="" if self.tty else "\n", file=sys.stderr)


def rebuild(args: argparse.Namespace, settings: Settings) -> int:
    from api.core.runtime import open_runtime
    from ledger.rules import RulesError, rules_from_text, rules_text
    from projections.catalog import VIEWS
    from projections.rebuild import rebuild

    kind = VIEWS.get(args.name)
    if kind is None:
        print(f"error: no view named {args.name!r}; views: {', '.join(VIEWS)}", file=sys.stderr)
        return 2
    try:
        toml = rules_text(args.rules) if args.rules else None
        if toml is not None:
            rules_from_text(toml, source=str(args.rules))
    except RulesError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    runtime = open_runtime(settings, projections=False)
    try:
        report = rebuild(
            app=runtime.ledger,
            registry=runtime.registry,
            kind=kind,
            open_view=runtime.open_view,
            rules_toml=toml,
            progress=_Progress(f"rebuild {kind.name}", runtime.head()),
            conninfo=lambda: runtime.url,
        )
    finally:
        runtime.close()
    if sys.stderr.isatty():
        print(file=sys.stderr)
    print(
        f"{report.name}: generation {report.generation} is live (replaced {report.replaced})"
        f"{', resumed' if report.resumed else ''}; {report.events:,} events in"
        f" {report.seconds:.1f} s ({report.events_per_second:,.0f} events/s);"
        f" rules {report.rules.version} ({report.rules.digest})"
    )
    return 0

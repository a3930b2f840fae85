"""`psvs-ledger export overdue|systems`: the overdue lists or the systems of a district as an
xlsx or CSV file, the same rows the API's exports give an officer of that district."""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

KINDS = ("unfiled", "filed_late", "change_late", "correction_overdue", "due_soon")


def _today() -> date:
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


def _export(args: argparse.Namespace, settings: Any) -> int:
    from api.core.runtime import open_runtime
    from api.queries.overdue import all_overdue
    from api.queries.paging import MAX_EXPORT_ROWS, TooMany
    from api.queries.systems import all_systems
    from api.queries.views import views_reached
    from api.sheets.exports import (
        OVERDUE_COLUMNS,
        SYSTEM_COLUMNS,
        export_table,
        overdue_rows,
        system_rows,
    )
    from ledger.access import Reach
    from ledger.codes import division_code_error

    if (problem := division_code_error(args.division)) is not None:
        print(f"error: --division {args.division}: {problem}", file=sys.stderr)
        return 2
    view = "overdue" if args.what == "overdue" else "status"
    today = _today()
    runtime = open_runtime(settings, projections=False)
    try:
        head = runtime.head()
        if not views_reached(runtime, (view,), position=head):
            behind = head - runtime.view_position(view)
            print(
                f"warning: the {view} view is {behind:,} events behind the log (is"
                " `psvs-ledger serve` or `projections run` running?); exporting what it has",
                file=sys.stderr,
            )
        if args.what == "overdue":
            items = all_overdue(
                runtime,
                as_of=args.as_of or today,
                rules=runtime.rules,
                reach=Reach.division(args.division or ""),
                division_code=None,
                kind=args.kind,
            )
            content = export_table(overdue_rows(items), OVERDUE_COLUMNS, args.format)
        else:
            items = all_systems(
                runtime,
                reach=Reach.division(args.division or ""),
                filters={},
                today=today,
            )
            content = export_table(system_rows(items), SYSTEM_COLUMNS, args.format)
    except TooMany:
        print(f"error: more than {MAX_EXPORT_ROWS:,} rows", file=sys.stderr)
        return 1
    finally:
        runtime.close()
    Path(args.file).write_bytes(content)
    print(f"wrote {len(items):,} rows to {args.file} ({args.format})")
    return 0


def day(text: str) -> date:
    """A YYYY-MM-DD option (argparse names this function in its error: "invalid day value")."""
    return date.fromisoformat(text)


def add_export_commands(commands: Any) -> None:
    """Adds `overdue` and `systems` to the `export` command group."""
    for what, text in (
        ("overdue", "the overdue lists of a district (all kinds, or one with --kind)"),
        ("systems", "every system of a district, in filing order"),
    ):
        command = commands.add_parser(what, help=f"{text} as xlsx or CSV")
        command.add_argument(
            "--format", choices=("xlsx", "csv"), default="xlsx", help="the file's format"
        )
        command.add_argument("--division", required=True, help="a district code, e.g. 500108")
        if what == "overdue":
            command.add_argument("--kind", choices=KINDS, help="one list only (default: all)")
            command.add_argument(
                "--as-of",
                type=day,
                help="the day the lists are drawn up for, YYYY-MM-DD (default: today)",
            )
        command.add_argument("file", help="the file to write")
        command.set_defaults(handler=_export, what=what)

"""`psvs-ledger attachments ...`: the blob store of uploads (ledger/storage/blobs.py).

`collect` deletes the bytes of uploads that no registration or filing references and that
nobody uploaded again or named in a request for `LEDGER_ATTACHMENT_RETENTION_DAYS` (30) days;
`--dry-run` lists them and deletes nothing. The upload events stay in the log: such an
attachment answers as gone (naming it in a request is 422, reading it NotFound). Run it daily
(cron, a systemd timer); it reads the log's upload and referencing events once per run. Each
deleted blob is a security log line (`attachment_collected`).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from api.cli.help import days
from api.core.settings import Settings


def add_attachment_commands(commands: Any) -> None:
    """`attachments collect [--dry-run] [--retention-days N] [--json]` (api/cli/main.py)."""
    attachments = commands.add_parser("attachments", help="uploads' bytes in the blob store")
    sub = attachments.add_subparsers(dest="attachments_command", required=True)
    collect = sub.add_parser(
        "collect",
        help="delete the bytes of uploads nothing referenced within the retention (the upload"
        " events stay)",
    )
    collect.add_argument("--dry-run", action="store_true", help="list them, delete nothing")
    collect.add_argument(
        "--retention-days",
        type=days,
        help="keep uploads referenced within this many days"
        " (default: LEDGER_ATTACHMENT_RETENTION_DAYS, 30)",
    )
    collect.add_argument("--json", action="store_true", help="print the outcome as JSON")
    collect.set_defaults(handler=collect_command)


def collect_command(args: argparse.Namespace, settings: Settings) -> int:
    from api.core import logs
    from api.core.logs import security_event
    from api.core.runtime import open_runtime
    from ledger.storage.blobs import collect

    logs.configure(settings.log_level)
    days = (
        settings.attachment_retention_days if args.retention_days is None else args.retention_days
    )
    if days < 0:
        print("error: --retention-days may not be negative", file=sys.stderr)
        return 2
    runtime = open_runtime(settings, projections=False)
    try:
        outcome = collect(
            runtime.ledger, runtime.ledger.blobs, retention_days=days, dry_run=args.dry_run
        )
    finally:
        runtime.close()
    if not outcome.dry_run:
        for info in outcome.deleted:
            security_event(
                "attachment_collected", sha256=info.sha256, size=info.size, retention_days=days
            )
    report = {
        "dry_run": outcome.dry_run,
        "retention_days": days,
        "stale": outcome.stale,
        "kept_referenced": outcome.kept_referenced,
        "deleted" if not outcome.dry_run else "would_delete": len(outcome.deleted),
        "bytes": outcome.bytes_freed,
        "events_scanned": outcome.events_scanned,
        "hashes": [info.sha256 for info in outcome.deleted],
    }
    if args.json:
        print(json.dumps(report))
    else:
        verb = "would delete" if outcome.dry_run else "deleted"
        print(
            f"{verb} {len(outcome.deleted)} blob(s), {outcome.bytes_freed} bytes; kept"
            f" {outcome.kept_referenced} referenced of {outcome.stale} older than {days} days"
        )
        for info in outcome.deleted:
            print(f"{info.sha256} {info.size} {info.media_type}")
    return 0

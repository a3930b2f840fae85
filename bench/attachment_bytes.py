"""Event-log bytes per filing with a scanned paper form, with the scan in the log (as version 1
of `Attachment.Uploaded` stored it) and with it in the blob store (version 2).

    .venv/bin/python -m bench.attachment_bytes [--filings 50] [--scan-kb 100] [--devices 10]
                                               [--embedded]

For each mode, in a scratch database of its own: a unit registered by its legal-person account
(not counted), then, counted, per filing: an officer uploads the unit's paper form (a PDF of
`--scan-kb` KB of incompressible bytes, as a scanned image is) and files the system offline
with `--devices` cameras, through the ledger's own commands. "Before" writes the upload event
exactly as the version 1 code did (the bytes inline, hex-encoded by the ledger's transcoder);
"after" is today's `Ledger.upload`. Figures: the stored `state` bytes of the events the filing
added, and the growth of `ledger_events` on disk (table, TOAST and indexes) per filing; the
blob table's growth is shown beside (it is collectable, the log is not).
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import psycopg

from api.core.runtime import open_runtime
from api.core.settings import Settings
from bench.logs import _devices, scratch_database
from ledger import codes
from ledger.access import actor_of
from ledger.attachments import Attachment
from ledger.services.application import Ledger
from ledger.values import Role

TODAY = date(2025, 5, 6)
DIVISION = "500108"


def _scan(kb: int, seed: int) -> bytes:
    body = random.Random(seed).randbytes(kb * 1024 - 64)
    return b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + body + b"\n%%EOF\n"


def _upload_v1(ledger: Ledger, caller: Any, content: bytes) -> Any:
    """The upload as version 1 recorded it: its bytes inside the event."""
    attachment = Attachment.upload(
        content=content, media_type="application/pdf", filename="form.pdf", actor=actor_of(caller)
    )
    [event] = attachment.collect_events()
    stored = ledger.mapper.to_stored_event(event)
    state = json.loads(stored.state)
    state.pop("class_version", None)
    state["content"] = {"_type_": "bytes_hex", "_data_": content.hex()}
    encoded = json.dumps(state, separators=(",", ":"), ensure_ascii=False).encode()
    ledger.recorder.insert_events([replace(stored, state=encoded)])
    return attachment.id


def _sizes(url: str) -> tuple[int, int]:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT pg_total_relation_size('ledger_events'),"
            " coalesce(pg_total_relation_size(to_regclass('attachment_blobs')), 0)"
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def _state_bytes(url: str, after: int) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT coalesce(sum(octet_length(state)), 0) FROM ledger_events"
            " WHERE notification_id > %s",
            (after,),
        ).fetchone()
    assert row is not None
    return int(row[0])


def measure(url: str, *, inline: bool, filings: int, scan_kb: int, devices: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as data:
        runtime = open_runtime(Settings(database_url=url, data_dir=Path(data)), projections=False)
        try:
            ledger = runtime.ledger
            officer = ledger.open_account(
                token_sha256="0" * 64, role=Role.OFFICER, name="民警", division_code=DIVISION,
                today=TODAY,
            )  # fmt: skip
            body = "91500108MA0000001"
            uscc = body + codes.uscc_check_char(body)
            owner = ledger.open_account(
                token_sha256="1" * 64, role=Role.LEGAL_PERSON, name="单位", uscc=uscc,
                bound_by="operator", today=TODAY,
            )  # fmt: skip
            ledger.register_unit(caller=owner, today=TODAY, fields={
                "uscc": uscc, "name": "重庆南坪商业管理有限公司", "unit_type": "enterprise",
                "address": "重庆市南岸区南坪西路1号", "division_code": DIVISION,
                "legal_representative": "张三", "contact_name": "李四",
                "contact_phone": "13800138000",
                "authorization_letter_id": None, "business_licence_id": None,
            })  # fmt: skip
            ledger.blobs.put(sha256="0" * 64, content=b"", media_type="text/csv")  # the table
            head = ledger.recorder.max_notification_id() or 0
            log_before, blobs_before = _sizes(url)
            rows = _devices(devices)
            for n in range(filings):
                scan = _scan(scan_kb, n)
                if inline:
                    form = _upload_v1(ledger, officer, scan)
                else:
                    form = ledger.upload(
                        caller=officer, content=scan, media_type="application/pdf",
                        filename="form.pdf",
                    ).id  # fmt: skip
                ledger.file_system(
                    caller=officer, today=TODAY, devices=rows, paper_form_id=form,
                    fields={"unit_uscc": uscc, "name": f"视频监控系统{n}", "place_category": 2,
                            "place_type": "shopping_centre", "address": f"南坪西路{n}号",
                            "division_code": DIVISION, "longitude": 106.57, "latitude": 29.53,
                            "commissioned_on": date(2025, 4, 20), "storage_days": 90,
                            "collection_area": "出入口", "outsourced_to": None},
                )  # fmt: skip
            state = _state_bytes(url, head)
            log_after, blobs_after = _sizes(url)
        finally:
            runtime.close()
    return {
        "state_bytes_per_filing": state / filings,
        "log_disk_bytes_per_filing": (log_after - log_before) / filings,
        "blob_disk_bytes_per_filing": (blobs_after - blobs_before) / filings,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--filings", type=int, default=50)
    parser.add_argument("--scan-kb", type=int, default=100)
    parser.add_argument("--devices", type=int, default=10)
    parser.add_argument(
        "--embedded",
        action="store_true",
        help="a private embedded PostgreSQL instead of LEDGER_BENCH_SERVER_URL",
    )
    args = parser.parse_args()
    figures = {}
    for label, inline in (("before (scan in the log)", True), ("after (scan in blobs)", False)):
        with scratch_database(embedded=args.embedded) as url:
            figures[label] = measure(
                url, inline=inline, filings=args.filings, scan_kb=args.scan_kb, devices=args.devices
            )
    print(
        f"{args.filings} filings, each with a {args.scan_kb} KB scanned form and"
        f" {args.devices} cameras"
    )
    print(f"{'':26} {'log state B':>12} {'log disk B':>12} {'blob disk B':>12}")
    for label, f in figures.items():
        print(
            f"{label:26} {f['state_bytes_per_filing']:>12,.0f}"
            f" {f['log_disk_bytes_per_filing']:>12,.0f} {f['blob_disk_bytes_per_filing']:>12,.0f}"
        )
    before, after = figures.values()
    for key, name in (
        ("state_bytes_per_filing", "log state"),
        ("log_disk_bytes_per_filing", "log on disk"),
    ):
        print(f"{name}: {before[key] / after[key]:.1f} times smaller")


if __name__ == "__main__":
    main()

"""Hostile device sheets (tests/support/sheets.py): each is refused with a clear error naming
`device_sheet_id`, read in a worker process whose CPU, memory and time are limited.

Speed is not asserted here (benchmarks measure it: bench/hostile_sheets.py); what each file
cost its worker is recorded in test-artifacts/hostile-sheets.jsonl.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.sheets import files as sheet_files
from api.sheets import worker as sheet_worker
from api.sheets.files import SheetInvalid
from api.sheets.worker import SheetWorkers
from ledger.attachments import MAX_ATTACHMENT_BYTES
from tests.support.http import assert_problem, file_system, filing_body, unit_account, upload
from tests.support.sheets import Hostile, corpus

ARTIFACT = Path(__file__).resolve().parents[2] / "test-artifacts" / "hostile-sheets.jsonl"
CORPUS = corpus()


@pytest.fixture(scope="module")
def fresh_workers() -> Iterator[SheetWorkers]:
    """One worker per file, so each file's peak memory is its own."""
    workers = SheetWorkers(size=1, tasks_per_worker=1, deadline_seconds=30)
    yield workers
    workers.close()


@pytest.fixture(scope="module")
def record() -> Iterator[list[dict[str, object]]]:
    lines: list[dict[str, object]] = []
    yield lines
    ARTIFACT.parent.mkdir(exist_ok=True)
    ARTIFACT.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines))


def test_the_reader_repeats_the_upload_cap() -> None:
    assert sheet_files.MAX_ATTACHMENT_BYTES == MAX_ATTACHMENT_BYTES


@pytest.mark.parametrize("hostile", CORPUS, ids=[h.name for h in CORPUS])
def test_each_hostile_file_is_refused_by_the_worker_with_what_limit_it_hit(
    hostile: Hostile, fresh_workers: SheetWorkers, record: list[dict[str, object]]
) -> None:
    with pytest.raises(SheetInvalid) as refused:
        fresh_workers.read_rows(hostile.content)

    (error,) = refused.value.errors
    assert hostile.refusal in error.reason
    assert [e.loc for e in refused.value.field_errors()] == [("body", "device_sheet_id")]
    assert sheet_files.chinese_reason(error.reason) != error.reason  # the officer page's words
    measured = fresh_workers.last
    record.append(
        {
            "file": hostile.name,
            "bytes": len(hostile.content),
            "reason": error.reason,
            "worker_cpu_s": round(measured.cpu, 4),
            "worker_peak_rss_mb": round(measured.rss_kb / 1024, 1),
            "wall_s": round(measured.wall, 3),
        }
    )
    print(record[-1])


def test_a_task_past_the_cpu_limit_is_killed_not_finished() -> None:
    workers = SheetWorkers(size=1, deadline_seconds=60)
    try:
        with pytest.raises(SheetInvalid) as refused:
            workers.ask(b"C", b"")  # spins for ever
    finally:
        workers.close()

    assert workers.last.killed == "cpu"
    assert f"more than {sheet_worker.CPU_SECONDS} s of CPU" in refused.value.errors[0].reason


def test_a_task_past_the_memory_limit_is_stopped_and_its_worker_replaced() -> None:
    workers = SheetWorkers(size=1)
    try:
        with pytest.raises(SheetInvalid) as refused:
            workers.ask(b"M", str(sheet_worker.MEMORY_BYTES // (1024 * 1024)).encode())
        assert workers.ask(b"M", b"1") == {"refused": "held 1 MB"}  # a new worker answers
    finally:
        workers.close()

    assert "needed more than 256 MB" in refused.value.errors[0].reason


def test_a_task_past_the_deadline_is_killed() -> None:
    workers = SheetWorkers(size=1, deadline_seconds=0.5)
    try:
        with pytest.raises(SheetInvalid) as refused:
            workers.ask(b"C", b"")
    finally:
        workers.close()

    assert workers.last.killed in ("deadline", "cpu")
    assert "reading the sheet took more than" in refused.value.errors[0].reason


UPLOADABLE = [h for h in CORPUS if len(h.content) <= MAX_ATTACHMENT_BYTES]


@pytest.mark.parametrize("hostile", UPLOADABLE, ids=[h.name for h in UPLOADABLE])
def test_a_filing_naming_a_hostile_sheet_is_a_422_naming_device_sheet_id(
    client: TestClient, hostile: Hostile
) -> None:
    owner = unit_account(client)
    uploaded = upload(client, owner.token, hostile.content, "devices", hostile.media_type)
    assert uploaded.status_code == 201, uploaded.text
    body = filing_body(owner.uscc, device_sheet_id=uploaded.json()["attachment_id"])
    del body["devices"]

    problem = assert_problem(file_system(client, owner.token, body), 422)
    # And the same sheet in a body that fails its schema too (the 422 handler's path).
    broken = assert_problem(file_system(client, owner.token, {**body, "name": ""}), 422)

    for answer in (problem, broken):
        named = [e for e in answer["errors"] if e["loc"] == ["body", "device_sheet_id"]]
        assert len(named) == 1, answer
        assert hostile.refusal in named[0]["msg"]

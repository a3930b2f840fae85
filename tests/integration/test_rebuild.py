"""Rebuilding a view under new rules while the service keeps serving it.

The test's runtime plays the running service (its runners started); the rebuild runs as the
operator would run it, `psvs-ledger projections rebuild`, in another process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from api.core.runtime import Runtime, open_runtime
from api.core.settings import Settings
from ledger.access import Reach
from ledger.rules import rules_from_text, rules_text
from projections.overdue import OverdueView, overdue_items
from projections.runner import BatchRunner, ViewSlot
from tests.support.districts import District


@pytest.fixture
def service(settings: Settings) -> Iterator[Runtime]:
    rt = open_runtime(settings, projections=True)
    rt.start_projections()
    try:
        yield rt
    finally:
        rt.close()


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """The command line, as an operator runs it beside the service (same database and key)."""
    assert settings.database_url is not None
    env = {
        **os.environ,
        "LEDGER_DATABASE_URL": settings.database_url,
        "LEDGER_DATA_DIR": str(settings.data_dir),
    }
    return subprocess.run(
        [sys.executable, "-m", "api.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _change_late(rt: Runtime) -> list[dict[str, Any]]:
    assert rt.wait_for_views(rt.head(), 10, names=("overdue",))
    items, _ = overdue_items(
        rt.reads,
        as_of=date(2025, 9, 1),
        rules=rt.rules,
        reach=Reach.division(""),
        division_code=None,
        kind="change_late",
        after=None,
        limit=500,
    )
    return items


def _rules_with_change_days(path: Path, days: int) -> Path:
    text = rules_text().replace('version = "2025.1"', 'version = "nanan-2025.2"')
    text = text.replace("[change]", '[change]\n# a district\'s own "promptly"', 1)
    before, after = text.split("[change]", 1)
    after = after.replace("days = 30", f"days = {days}", 1)
    path.write_text(before + "[change]" + after, encoding="utf-8")
    return path


def test_rebuild_under_shorter_change_days_lists_the_change_late_while_reads_go_on(
    service: Runtime, settings: Settings, tmp_path: Path
) -> None:
    district = District(service)
    system = district.file(date(2025, 6, 10), filed_on=date(2025, 6, 20))
    district.change(system, effective_on=date(2025, 7, 1), filed_on=date(2025, 7, 20))
    for n in range(30):  # filed late, so every read of the list has rows to show
        district.file(date(2025, 6, 1 + n % 20), filed_on=date(2025, 8, 1))
    assert _change_late(service) == []  # 19 days after it took effect: in time under 30 days

    reads: list[int] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def keep_reading() -> None:
        while not stop.is_set():
            try:
                items, _ = overdue_items(
                    service.reads,
                    as_of=date(2025, 9, 1),
                    rules=service.rules,
                    reach=Reach.division(""),
                    division_code=None,
                    kind=None,
                    after=None,
                    limit=500,
                )
                reads.append(len(items))
            except BaseException as error:
                errors.append(error)

    reader = threading.Thread(target=keep_reading)
    reader.start()
    try:
        rules = _rules_with_change_days(tmp_path / "nanan.toml", 10)
        done = _cli(settings, "projections", "rebuild", "overdue", "--rules", str(rules))
    finally:
        stop.set()
        reader.join()
    assert done.returncode == 0, done.stderr
    assert "overdue: generation 2 is live" in done.stdout
    assert errors == []
    assert len(reads) > 10
    assert min(reads) >= 30  # the live view answered with its filed-late rows throughout

    service.slots["overdue"].refresh()
    assert service.rules.version == "nanan-2025.2"
    late = _change_late(service)
    assert [(i["system_id"], i["due_on"], i["days_overdue"]) for i in late] == [
        (str(system), date(2025, 7, 11), 9)
    ]
    assert all(i["rules_version"] == "nanan-2025.2" for i in late)

    # The service's runner followed the switch: a new change is judged by the new rules.
    other = district.file(date(2025, 6, 10), filed_on=date(2025, 6, 20))
    district.change(other, effective_on=date(2025, 7, 1), filed_on=date(2025, 7, 15))
    assert {i["system_id"] for i in _change_late(service)} == {str(system), str(other)}
    runner = service.runner("overdue")
    assert runner is not None and runner.view.generation == 2

    status = _cli(settings, "projections", "status")
    assert status.returncode == 0, status.stderr
    line = next(x for x in status.stdout.splitlines() if x.startswith("overdue"))
    assert line.split()[1] == "2"
    assert "nanan-2025.2" in line
    assert "rules differ from the configured ones" in line
    with service.reads.transaction(commit=False) as curs:
        curs.execute("SELECT to_regclass('overdue_g1_duties') AS old")
        row = curs.fetchone()
    assert row is not None and row["old"] is None  # the replaced generation is gone


def test_interrupted_rebuild_leaves_the_live_view_and_resumes(
    service: Runtime, settings: Settings, tmp_path: Path
) -> None:
    district = District(service)
    for n in range(5):
        district.file(date(2025, 6, 10), filed_on=date(2025, 7, 11 + n))
    assert service.wait_for_views(service.head(), 10, names=("overdue",))
    before = overdue_items(
        service.reads,
        as_of=date(2025, 9, 1),
        rules=service.rules,
        reach=Reach.division(""),
        division_code=None,
        kind=None,
        after=None,
        limit=500,
    )[0]
    assert len(before) == 5
    rules_toml = _rules_with_change_days(tmp_path / "r.toml", 10).read_text(encoding="utf-8")
    # A rebuild that died after starting generation 2: the registry says so, nothing switched.
    generation, abandoned = service.registry.begin_rebuild("overdue", rules_toml=rules_toml)
    assert (generation, abandoned) == (2, None)
    partial = service.open_view(OverdueView, 2, rules_from_text(rules_toml, source="test"))
    slot = ViewSlot(
        name="overdue", open=lambda g, r: partial, registry=service.registry, view=partial
    )
    BatchRunner(
        app=service.ledger,
        slot=slot,
        conninfo=lambda: service.url,
        page_size=3,
        follow_registry=False,
    )._step()
    assert partial.max_tracking_id(service.ledger.name) == 3
    partial.datastore.close()
    assert service.registry.get("overdue").generation == 1  # type: ignore[union-attr]
    assert (
        overdue_items(
            service.reads,
            as_of=date(2025, 9, 1),
            rules=service.rules,
            reach=Reach.division(""),
            division_code=None,
            kind=None,
            after=None,
            limit=500,
        )[0]
        == before
    )
    status = _cli(settings, "projections", "status")
    assert "rebuilding into generation 2 (resumable)" in status.stdout

    done = _cli(settings, "projections", "rebuild", "overdue", "--rules", str(tmp_path / "r.toml"))
    assert done.returncode == 0, done.stderr
    assert "generation 2 is live" in done.stdout
    assert "(replaced 1), resumed" in done.stdout
    entry = service.registry.get("overdue")
    assert entry is not None and entry.building is None and entry.generation == 2

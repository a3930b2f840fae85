"""`psvs-ledger demo --size small` on a real PostgreSQL: every overdue list and every place
category has something to show, and a second run is refused."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from api.cli.main import main
from api.core.runtime import Runtime, open_runtime
from api.core.settings import Settings
from api.sheets.exports import KIND_LABELS
from ledger.access import Reach
from projections.overdue import KINDS, overdue_items
from projections.status import list_systems
from tests.support.codes import NANAN

pytestmark = pytest.mark.postgres


@pytest.fixture
def loaded(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[tuple[Runtime, str]]:
    """The small demo loaded by the command line, and the views caught up with it."""
    monkeypatch.setenv("LEDGER_DATABASE_URL", str(settings.database_url))
    monkeypatch.setenv("LEDGER_DATA_DIR", str(settings.data_dir))
    assert main(["demo", "--size", "small"]) == 0
    output = capsys.readouterr().out
    runtime = open_runtime(settings, projections=True)
    runtime.start_projections()
    try:
        assert runtime.wait_for_views(runtime.head(), 60, names=("status", "overdue"))
        yield runtime, output
    finally:
        runtime.close()


def test_the_small_demo_has_items_on_every_overdue_list(loaded: tuple[Runtime, str]) -> None:
    runtime, _output = loaded
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    items, _next = overdue_items(
        runtime.reads,
        as_of=today,
        rules=runtime.rules,
        reach=Reach.division(NANAN),
        division_code=None,
        kind=None,
        after=None,
        limit=10_000,
    )
    assert {item["kind"] for item in items} == set(KINDS)


def test_the_small_demo_has_systems_of_all_five_categories_in_every_status(
    loaded: tuple[Runtime, str],
) -> None:
    runtime, _output = loaded
    docs, _next = list_systems(
        runtime.reads,
        reach=Reach.division(NANAN),
        filters={},
        after=0,
        limit=10_000,
    )
    assert {doc["place_category"] for doc in docs} == {1, 2, 3, 4, 5}
    assert {doc["status"] for doc in docs} == {"filed", "cancelled", "unfiled"}
    assert {doc["channel"] for doc in docs if doc["status"] == "filed"} == {"online", "offline"}


def test_the_demo_prints_an_officers_token_that_signs_in(loaded: tuple[Runtime, str]) -> None:
    runtime, output = loaded
    from api.identity.tokens import token_hash

    lines = output.strip().splitlines()
    assert lines[0] == (
        "demo: loading the small 南岸区 (500108) sample: 20 units (`--size large` loads 420)"
    )
    assert lines[-3].startswith("南岸区 (500108) small demo loaded in ")
    token = lines[-1]
    account = runtime.ledger.account_for_token(token_hash(token))
    assert account is not None
    assert (str(account.role), account.division_code) == ("officer", NANAN)


def test_a_second_demo_is_refused_and_writes_nothing(
    loaded: tuple[Runtime, str], capsys: pytest.CaptureFixture[str]
) -> None:
    runtime, _output = loaded
    head = runtime.head()

    assert main(["demo", "--size", "small"]) == 1

    assert "already loaded" in capsys.readouterr().err
    assert runtime.head() == head


def test_the_command_line_exports_the_demo_lists(
    loaded: tuple[Runtime, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    overdue, systems = tmp_path / "overdue.csv", tmp_path / "systems.xlsx"

    assert main(["export", "overdue", "--format", "csv", "--division", NANAN, str(overdue)]) == 0
    assert main(["export", "systems", "--division", NANAN, str(systems)]) == 0

    rows = list(csv.reader(io.StringIO(overdue.read_text(encoding="utf-8-sig"))))
    assert rows[0][:2] == ["类别", "备案编号"]
    assert {row[0] for row in rows[1:]} == set(KIND_LABELS.values())
    sheet = load_workbook(systems, read_only=True).worksheets[0]
    assert sum(1 for _row in sheet.iter_rows()) > 50
    assert "wrote" in capsys.readouterr().out

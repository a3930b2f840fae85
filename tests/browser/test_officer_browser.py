"""The officer pages in Debian's chromium against a served app: login, the dashboard against
the API's numbers, an offline filing with a device sheet, a bad sheet's cells, a timeline."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.support.http import SHANGHAI, auth
from tests.support.processes import Served
from tests.support.seeded import (
    COMMISSIONED,
    PAPER_FORM,
    District,
    bad_device_sheet,
    device_sheet,
    overdue_counts,
    seed,
)

pytestmark = pytest.mark.browser

KINDS = ["unfiled", "filed_late", "change_late", "correction_overdue", "due_soon"]


@pytest.fixture
def api(served: Served) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served.url, timeout=30) as client:
        yield client


@pytest.fixture
def officer(served: Served) -> str:
    return served.officer_token()


@pytest.fixture
def district(api: httpx.Client, officer: str) -> District:
    return seed(api, officer)


def log_in(page: Page, token: str) -> None:
    page.goto("/officer/")  # no session yet: sent to the login
    expect(page).to_have_url(re.compile(r"/officer/login\?next="))
    page.fill("#token", token)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/officer/$"))


def test_an_officer_logs_in_with_a_token_and_a_bad_token_is_refused(
    page: Page, officer: str
) -> None:
    page.goto("/officer/login")
    page.fill("#token", "not-a-token")
    page.click("button[type=submit]")
    expect(page.locator('[data-error-for="token"]')).to_have_text("令牌无效")

    log_in(page, officer)

    expect(page.locator("header .who")).to_contain_text("张警官")
    expect(page.locator("h1")).to_contain_text("逾期情况")


def test_the_dashboard_counts_equal_the_apis_lists_and_open_the_list_behind_them(
    page: Page,
    api: httpx.Client,
    officer: str,
    district: District,
    artifacts: Path,
    console_errors: list[str],
) -> None:
    expected = overdue_counts(api, officer, KINDS)
    assert expected["unfiled"] >= 1 and expected["filed_late"] >= 1 and expected["due_soon"] >= 1

    log_in(page, officer)

    shown = {kind: int(page.locator(f"#count-{kind} .count").inner_text()) for kind in KINDS}
    assert shown == expected
    page.click("#count-filed_late")  # htmx swaps the list in below the counts
    expect(page.locator("#overdue-table[data-kind=filed_late] tbody tr")).to_have_count(
        expected["filed_late"]
    )
    expect(page.locator("#overdue-table")).to_contain_text("南坪步行街视频监控系统")
    expect(page).to_have_url(re.compile(r"\?kind=filed_late$"))
    page.screenshot(path=str(artifacts / "dashboard.png"), full_page=True)
    # The styles and htmx load under the strict CSP (no inline script or style anywhere).
    assert page.evaluate("typeof htmx") == "object"
    assert page.locator("header").evaluate("e => getComputedStyle(e).display") == "flex"
    assert console_errors == []


def test_an_offline_filing_with_a_device_sheet_is_filed_and_found(
    page: Page, api: httpx.Client, officer: str, district: District
) -> None:
    log_in(page, officer)
    page.goto("/officer/filings/new")
    page.fill("#unit_uscc", district.uscc)
    page.fill("#name", "弹子石广场视频监控系统")
    page.select_option("#place_category", "1")
    page.select_option("#place_type", "square")
    page.fill("#address", "重庆市南岸区弹子石广场")
    page.fill("#commissioned_on", COMMISSIONED.isoformat())
    page.fill("#storage_days", "90")
    page.fill("#collection_area", "广场及出入口")
    page.set_input_files(
        "#paper_form", {"name": "备案表.pdf", "mimeType": "application/pdf", "buffer": PAPER_FORM}
    )
    page.set_input_files(
        "#device_sheet", {"name": "设备.csv", "mimeType": "text/csv", "buffer": device_sheet(3)}
    )
    page.check("input[name=acknowledged_instructions]")
    page.click("#filing-form button[type=submit]")

    expect(page.locator("#saved")).to_contain_text("线下备案已登记")
    expect(page.locator("#devices tbody tr")).to_have_count(3)
    system_id = page.url.split("/officer/systems/")[1].split("?")[0]
    read = api.get(f"/v1/systems/{system_id}", headers=auth(officer)).json()
    assert read["channel"] == "offline" and read["camera_count"] == 3
    assert read["status"] == "filed"
    page.goto("/officer/systems")
    page.fill("input[name=q]", "弹子石")  # htmx searches as the officer types
    expect(page.locator("#systems-table tbody tr")).to_have_count(1)
    expect(page.locator("#systems-table")).to_contain_text(read["filing_number"])


def test_a_bad_device_sheet_lists_every_bad_cell_and_nothing_is_filed(
    page: Page, api: httpx.Client, officer: str, district: District
) -> None:
    log_in(page, officer)
    page.goto("/officer/filings/new")
    page.fill("#unit_uscc", district.uscc)
    page.fill("#name", "坏表格测试系统")
    page.select_option("#place_category", "2")
    page.select_option("#place_type", "park")
    page.fill("#address", "重庆市南岸区南滨公园")
    page.fill("#commissioned_on", COMMISSIONED.isoformat())
    page.fill("#storage_days", "10")
    page.fill("#collection_area", "公园入口")
    page.set_input_files(
        "#paper_form", {"name": "备案表.pdf", "mimeType": "application/pdf", "buffer": PAPER_FORM}
    )
    page.set_input_files(
        "#device_sheet", {"name": "设备.csv", "mimeType": "text/csv", "buffer": bad_device_sheet()}
    )
    page.check("input[name=acknowledged_instructions]")
    page.click("#filing-form button[type=submit]")

    expect(page.locator("#form-has-errors")).to_be_visible()
    cells = page.locator("#sheet-errors tbody tr")
    rows = [
        [c.strip() for c in cells.nth(i).locator("td").all_inner_texts()]
        for i in range(cells.count())
    ]
    assert ["2", "存储天数"] in [r[:2] for r in rows]
    assert ["3", "设备名称"] in [r[:2] for r in rows]
    assert ["3", "设备类型"] in [r[:2] for r in rows]
    expect(page.locator('[data-error-for="storage_days"]')).to_contain_text("至少保存 30 天")
    expect(page.locator("#name")).to_have_value("坏表格测试系统")  # the form keeps its values
    found = api.get("/v1/systems", params={"q": "坏表格"}, headers=auth(officer)).json()
    assert found["items"] == []


def test_a_system_page_shows_its_timeline_with_who_when_channel_and_hash(
    page: Page, api: httpx.Client, officer: str, district: District, artifacts: Path
) -> None:
    answer = api.get(f"/v1/systems/{district.late_id}/history", headers=auth(officer))
    history = answer.json()["items"]

    log_in(page, officer)
    page.goto(f"/officer/systems/{district.late_id}")

    rows = page.locator("#timeline tbody tr")
    expect(rows).to_have_count(len(history))
    assert [rows.nth(i).get_attribute("data-type") for i in range(len(history))] == [
        item["type"] for item in history
    ]
    expect(rows.nth(0)).to_contain_text("备案登记")
    expect(rows.nth(0)).to_contain_text("线上")
    expect(rows.nth(1)).to_contain_text("备案变更")
    expect(rows.nth(1)).to_contain_text("存储天数：90 → 120")
    for i, item in enumerate(history):
        assert item["hash"], "the chain view links every event"
        when = datetime.fromisoformat(item["recorded_at"]).astimezone(SHANGHAI)
        expect(rows.nth(i)).to_contain_text(when.strftime("%Y-%m-%d %H:%M:%S"))
        expect(rows.nth(i)).to_contain_text(item["actor"]["name"])
        expect(rows.nth(i).locator("td.hash")).to_have_attribute("title", item["hash"])
    expect(page.locator("#system-status")).to_have_text("已备案")
    page.screenshot(path=str(artifacts / "system.png"), full_page=True)

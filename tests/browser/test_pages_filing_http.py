"""The offline filing form, search and unit pages and the session key, over plain HTTP."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.core.runtime import Runtime
from api.core.secrets import SessionKeyError, session_key
from api.core.settings import Settings
from ledger.values import Role
from tests.support.codes import NANAN, bad_uscc, make_uscc
from tests.support.http import auth, filed, police_token, unit_account
from tests.support.pages import csrf_of, log_in
from tests.support.seeded import PAPER_FORM, bad_device_sheet, device_sheet


@pytest.fixture
def officer(runtime: Runtime) -> str:
    return police_token(runtime, Role.OFFICER, NANAN)


def form_fields(uscc: str, **overrides: str) -> dict[str, str]:
    fields = {
        "unit_uscc": uscc,
        "name": "南滨路视频监控系统",
        "place_category": "1",
        "place_type": "road_section",
        "address": "重庆市南岸区南滨路",
        "division_code": NANAN,
        "commissioned_on": "2025-09-01",
        "storage_days": "90",
        "collection_area": "南滨路沿线",
        "acknowledged_instructions": "on",
    }
    fields.update(overrides)
    return fields


def post_filing(
    client: TestClient, fields: dict[str, str], sheet: bytes | None = None, paper: bool = True
) -> tuple[int, str]:
    page = client.get("/officer/filings/new")
    files = {}
    if paper:
        files["paper_form"] = ("备案表.pdf", PAPER_FORM, "application/pdf")
    if sheet is not None:
        files["device_sheet"] = ("设备.csv", sheet, "text/csv")
    response = client.post(
        "/officer/filings",
        data={**fields, "csrf_token": csrf_of(page.text)},
        files=files,
        follow_redirects=False,
    )
    return response.status_code, response.text if response.status_code != 303 else response.headers[
        "location"
    ]


def errors_of(html: str, field: str) -> list[str]:
    return re.findall(f'data-error-for="{field}">([^<]*)<', html)


def uploads(runtime: Runtime) -> int:
    """How many attachments the ledger's log holds (a refused form stores none)."""
    log = runtime.ledger.recorder.select_notifications(start=1, limit=100_000)
    return sum(1 for n in log if n.topic.endswith("Attachment.Uploaded"))


def test_an_offline_filing_from_the_form_is_filed_offline_with_both_files(
    client: TestClient, officer: str
) -> None:
    unit = unit_account(client)
    log_in(client, officer)

    status, location = post_filing(client, form_fields(unit.uscc), device_sheet(2))

    assert status == 303
    system_id = location.split("/officer/systems/")[1].split("?")[0]
    read = client.get(f"/v1/systems/{system_id}", headers=auth(officer)).json()
    assert read["channel"] == "offline" and read["camera_count"] == 2
    assert read["paper_form_id"] and read["device_sheet_id"]


def test_every_error_of_the_filing_form_is_shown_next_to_its_field_and_nothing_is_stored(
    client: TestClient, runtime: Runtime, officer: str
) -> None:
    log_in(client, officer)
    before = uploads(runtime)
    fields = form_fields(
        bad_uscc(), name="", place_type="park", storage_days="七天", commissioned_on="2099-01-01"
    )
    del fields["acknowledged_instructions"]

    status, html = post_filing(client, fields, bad_device_sheet(), paper=False)

    assert status == 422
    assert errors_of(html, "unit_uscc") == ["校验码不符"]
    assert errors_of(html, "name") == ["必填"]
    assert errors_of(html, "place_type") == ["“park”不属于第 1 类场所"]
    assert errors_of(html, "storage_days") == ["应为整数"]
    assert errors_of(html, "commissioned_on") == ["不能晚于今天"]
    assert errors_of(html, "acknowledged_instructions") == ["请确认单位已阅读《备案填报须知》"]
    assert errors_of(html, "paper_form") == ["请上传纸质备案表扫描件"]
    assert errors_of(html, "device_sheet")[0].startswith("设备信息表有 3 处错误")
    assert 'id="sheet-errors"' in html
    assert uploads(runtime) == before


def test_a_unit_not_registered_and_another_district_are_named_before_anything_is_stored(
    client: TestClient, runtime: Runtime, officer: str
) -> None:
    log_in(client, officer)
    before = uploads(runtime)

    status, html = post_filing(
        client, form_fields(make_uscc(), division_code="500106"), device_sheet(1)
    )

    assert status == 422
    assert errors_of(html, "unit_uscc") == ["该单位尚未登记，请先登记单位"]
    assert errors_of(html, "division_code") == ["只能录入本辖区（500108）的系统"]
    assert uploads(runtime) == before


def test_an_auditor_reads_the_pages_but_gets_no_filing_form(
    client: TestClient, runtime: Runtime
) -> None:
    unit = unit_account(client)
    system_id = filed(client, unit).json()["system_id"]
    log_in(client, police_token(runtime, Role.AUDITOR, "5001"))

    assert client.get("/officer/filings/new").status_code == 403
    page = client.get(f"/officer/systems/{system_id}")
    assert page.status_code == 200 and "correction-form" not in page.text


def test_search_filters_and_the_unit_page_list_the_units_systems(
    client: TestClient, officer: str
) -> None:
    unit = unit_account(client)
    filed(client, unit, name="南坪商圈视频监控系统")
    filed(client, unit, name="弹子石广场视频监控系统", place_category=1, place_type="square")
    log_in(client, officer)

    found = client.get("/officer/systems?q=弹子石", headers={"HX-Request": "true"}).text
    by_category = client.get("/officer/systems?place_category=2").text
    unit_page = client.get(f"/officer/units/{unit.uscc}").text

    assert "弹子石广场视频监控系统" in found and "南坪商圈" not in found and "<html" not in found
    assert "南坪商圈视频监控系统" in by_category and "弹子石广场" not in by_category
    assert unit_page.count("/officer/systems/") == 2


def test_the_session_key_is_generated_once_private_and_a_short_configured_key_is_refused(
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path / "var")

    first, second = session_key(settings), session_key(settings)

    assert first == second and len(first) >= 32
    mode = (tmp_path / "var" / "session.key").stat().st_mode
    assert stat.S_IMODE(mode) == 0o600
    with pytest.raises(SessionKeyError):
        session_key(Settings(data_dir=tmp_path / "var", session_key=SecretStr("short")))

"""Filing with a device sheet (`device_sheet_id`), the template download, and the exports of the
overdue and system lists, through HTTP."""

from __future__ import annotations

import csv
import io
from typing import Any

from fastapi.testclient import TestClient
from openpyxl import load_workbook

from api.core.runtime import Runtime
from api.sheets.exports import OVERDUE_COLUMNS, SYSTEM_COLUMNS
from ledger.values import Role
from tests.support.codes import SHAPINGBA, make_device_id
from tests.support.http import (
    UnitAccount,
    assert_problem,
    auth,
    error_locs,
    file_system,
    filed,
    filing_body,
    list_systems,
    police_token,
    unit_account,
    upload,
    upload_pdf,
)

HEADER = "设备编码,设备名称,安装地址,经度,纬度,设备类型,室内/室外,人脸抓拍,存储天数"


def sheet_csv(*rows: str, encoding: str = "utf-8-sig") -> bytes:
    return "\n".join((HEADER, *rows)).encode(encoding)


def good_rows(count: int, first: int = 1) -> list[str]:
    return [
        f"{make_device_id(n)},{n}号摄像机,重庆市南岸区南坪西路{n}号,106.57,29.53,球机,室外,否,90"
        for n in range(first, first + count)
    ]


def upload_sheet(client: TestClient, token: str, content: bytes, name: str = "devices.csv") -> str:
    response = upload(client, token, content, filename=name, media_type="text/csv")
    assert response.status_code == 201, response.text
    return str(response.json()["attachment_id"])


def sheet_filing(uscc: str, sheet_id: str, **overrides: Any) -> dict[str, Any]:
    body = filing_body(uscc, device_sheet_id=sheet_id, **overrides)
    del body["devices"]
    return body


def test_a_unit_files_its_devices_from_a_csv_sheet(client: TestClient, owner: UnitAccount) -> None:
    sheet_id = upload_sheet(client, owner.token, sheet_csv(*good_rows(3)))

    response = file_system(client, owner.token, sheet_filing(owner.uscc, sheet_id))

    assert response.status_code == 201, response.text
    system = response.json()
    assert system["camera_count"] == 3
    assert sorted(d["device_id"] for d in system["devices"]) == [
        make_device_id(n) for n in (1, 2, 3)
    ]
    assert system["device_sheet_id"] == sheet_id


def test_an_officer_keys_in_a_paper_filing_with_an_xlsx_sheet(
    client: TestClient, officer: str, owner: UnitAccount
) -> None:
    template = client.get("/v1/device-sheet-template", headers=auth(officer))
    assert template.status_code == 200
    sheet_id = upload_sheet(client, officer, template.content, name="devices.xlsx")
    body = sheet_filing(owner.uscc, sheet_id, paper_form_id=upload_pdf(client, officer))

    response = file_system(client, officer, body)

    assert response.status_code == 201, response.text
    assert response.json()["channel"] == "offline"
    assert response.json()["camera_count"] == 1


def test_a_bad_sheet_names_each_bad_cell_and_files_nothing(
    client: TestClient, owner: UnitAccount
) -> None:
    rows = good_rows(2)
    rows.append(f"{make_device_id(1)},3号摄像机,,106.57,29.53,飞碟,室外,也许,10")
    sheet_id = upload_sheet(client, owner.token, sheet_csv(*rows))

    response = file_system(client, owner.token, sheet_filing(owner.uscc, sheet_id, name=""))

    problem = assert_problem(response, 422)
    locs = error_locs(problem)
    for column in ("设备编码", "安装地址", "设备类型", "人脸抓拍", "存储天数"):
        assert ["body", "device_sheet", 4, column] in locs, locs
    assert ["body", "device_sheet", 2, "设备名称"] not in locs
    assert ["body", "name"] in locs
    assert list_systems(client, owner.token)["items"] == []


def test_a_sheet_must_be_the_callers_own_xlsx_or_csv(
    client: TestClient, owner: UnitAccount
) -> None:
    stranger = unit_account(client)
    theirs = upload_sheet(client, stranger.token, sheet_csv(*good_rows(1)))
    pdf = upload_pdf(client, owner.token)

    for sheet_id in (theirs, pdf):
        response = file_system(client, owner.token, sheet_filing(owner.uscc, sheet_id))
        assert error_locs(assert_problem(response, 422)) == [["body", "device_sheet_id"]]


def test_devices_come_as_a_list_or_a_sheet_not_both_and_not_neither(
    client: TestClient, owner: UnitAccount
) -> None:
    sheet_id = upload_sheet(client, owner.token, sheet_csv(*good_rows(1)))
    both = filing_body(owner.uscc, device_sheet_id=sheet_id)
    neither = filing_body(owner.uscc)
    del neither["devices"]

    assert ["body", "device_sheet_id"] in error_locs(
        assert_problem(file_system(client, owner.token, both), 422)
    )
    assert ["body", "devices"] in error_locs(
        assert_problem(file_system(client, owner.token, neither), 422)
    )


def test_the_template_needs_a_token(client: TestClient) -> None:
    assert_problem(client.get("/v1/device-sheet-template"), 401)


def _csv_rows(content: bytes) -> list[list[str]]:
    assert content.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def test_an_officer_exports_the_overdue_lists_and_the_systems_of_the_district(
    client: TestClient, runtime: Runtime, officer: str, owner: UnitAccount
) -> None:
    filed(client, owner, name='=HYPERLINK("http://x")')
    filed(client, owner, name="南坪商圈二期")
    other = police_token(runtime, Role.OFFICER, SHAPINGBA)

    systems = client.get("/v1/systems/export?format=csv", headers=auth(officer))
    overdue = client.get("/v1/overdue/export?format=xlsx", headers=auth(officer))
    elsewhere = client.get("/v1/systems/export?format=csv", headers=auth(other))

    assert systems.status_code == 200, systems.text
    assert "attachment" in systems.headers["content-disposition"]
    rows = _csv_rows(systems.content)
    assert rows[0] == [header for _key, header in SYSTEM_COLUMNS]
    assert {row[1] for row in rows[1:]} == {'\'=HYPERLINK("http://x")', "南坪商圈二期"}
    assert overdue.status_code == 200, overdue.text
    sheet = load_workbook(io.BytesIO(overdue.content), read_only=True).worksheets[0]
    first = next(sheet.iter_rows(values_only=True))
    assert list(first) == [header for _key, header in OVERDUE_COLUMNS]
    assert _csv_rows(elsewhere.content)[1:] == []


def test_units_cannot_export_the_overdue_lists(client: TestClient, owner: UnitAccount) -> None:
    assert_problem(client.get("/v1/overdue/export", headers=owner.headers), 403)

"""A small district for the browser tests, made through the HTTP API of the served app: one
unit, a system filed on time, one filed late and then changed late, a discovered system never
filed, and a correction order falling due within the week."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx

from tests.support.codes import NANAN, make_device_id, make_uscc
from tests.support.http import PDF, auth, filing_body, today, unit_body

SHEET_HEADER = "设备编码,设备名称,安装地址,经度,纬度,设备类型,室内/室外,人脸抓拍,存储天数"


@dataclass(frozen=True)
class District:
    uscc: str
    unit_token: str
    on_time_id: str
    late_id: str
    discovered_id: str


def _ok(response: httpx.Response, status: int = 201) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def seed(api: httpx.Client, officer: str) -> District:
    uscc = make_uscc()
    # The officer opens the unit's legal-person account at the window, on its business licence.
    licence = _ok(
        api.post(
            "/v1/attachments",
            files={"file": ("licence.pdf", PDF, "application/pdf")},
            headers=auth(officer),
        )
    )["attachment_id"]
    account = _ok(
        api.post(
            f"/v1/units/{uscc}/legal-person-accounts",
            json={"name": "重庆南坪商业管理有限公司", "phone": "13800138000",
                  "business_licence_id": licence},
            headers=auth(officer),
        )
    )  # fmt: skip
    token = account["token"]
    _ok(api.post("/v1/units", json=unit_body(uscc), headers=auth(token)))
    on_time = _ok(api.post("/v1/systems", json=filing_body(uscc), headers=auth(token)))
    late_body = filing_body(uscc, name="南坪步行街视频监控系统", commissioned_on="2025-01-10")
    late = _ok(api.post("/v1/systems", json=late_body, headers=auth(token)))
    changed = api.post(
        f"/v1/systems/{late['system_id']}/changes",
        json={"effective_on": (today() - timedelta(days=45)).isoformat(), "reason": "扩容",
              "changes": {"storage_days": 120}},
        headers={**auth(token), "If-Match": f'"{late["version"]}"'},
    )  # fmt: skip
    _ok(changed, 200)
    discovered = _ok(
        api.post(
            "/v1/discoveries",
            json={"unit_uscc": uscc, "name": "南坪农贸市场监控",
                  "address": "重庆市南岸区南坪东路8号", "division_code": NANAN,
                  "place_category": 2, "place_type": "other_gathering",
                  "commissioned_on": "2025-02-01", "note": "巡查发现"},
            headers=auth(officer),
        )
    )  # fmt: skip
    order = {"reason": "补充设备清单", "due_on": (today() + timedelta(days=3)).isoformat()}
    _ok(
        api.post(
            f"/v1/systems/{on_time['system_id']}/correction-orders",
            json=order,
            headers=auth(officer),
        )
    )
    return District(
        uscc=uscc,
        unit_token=token,
        on_time_id=on_time["system_id"],
        late_id=late["system_id"],
        discovered_id=discovered["system_id"],
    )


def overdue_counts(api: httpx.Client, officer: str, kinds: list[str]) -> dict[str, int]:
    """The length of each list GET /v1/overdue gives the officer today, every page."""
    counts = {}
    for kind in kinds:
        total, cursor = 0, None
        while True:
            params: dict[str, Any] = {"kind": kind, "limit": 500}
            if cursor:
                params["cursor"] = cursor
            body = _ok(api.get("/v1/overdue", params=params, headers=auth(officer)), 200)
            total += len(body["items"])
            cursor = body["next_cursor"]
            if not cursor:
                break
        counts[kind] = total
    return counts


def device_sheet(rows: int, first: int = 900) -> bytes:
    lines = [SHEET_HEADER] + [
        f"{make_device_id(n)},{n}号摄像机,重庆市南岸区南坪西路{n}号,106.57,29.53,球机,室外,否,90"
        for n in range(first, first + rows)
    ]
    return "\n".join(lines).encode("utf-8-sig")


def bad_device_sheet() -> bytes:
    """Row 2 keeps images 7 days; row 3 has no name and a device type nobody knows."""
    lines = [
        SHEET_HEADER,
        f"{make_device_id(801)},1号摄像机,重庆市南岸区南坪西路1号,106.57,29.53,球机,室外,否,7",
        f"{make_device_id(802)},,重庆市南岸区南坪西路2号,106.57,29.53,飞碟,室外,否,90",
    ]
    return "\n".join(lines).encode("utf-8")


PAPER_FORM = PDF
COMMISSIONED = date(2025, 9, 1)

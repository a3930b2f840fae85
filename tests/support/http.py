"""Builders for the HTTP contract tests: request bodies, accounts, units, uploads, filings.

Everything here goes through HTTP (docs/contract.md), except police accounts, which the
contract creates with the command line tool (`police_token` does what it does). Each builder
returns something the contract accepts; a test changes one thing to make it wrong.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from starlette.routing import Mount

from api.app import create_app
from api.core.runtime import Runtime
from api.core.settings import Settings
from api.identity.tokens import new_token
from ledger.values import Role

# The codes the tests that use this module as their one vocabulary (`http as h`) name.
from tests.support.codes import NANAN as NANAN
from tests.support.codes import SHAPINGBA as SHAPINGBA
from tests.support.codes import make_device_id as make_device_id
from tests.support.codes import make_id_card
from tests.support.codes import make_uscc as make_uscc

SHANGHAI = ZoneInfo("Asia/Shanghai")
PROBLEM_JSON = "application/problem+json"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
FILING_NUMBER = re.compile(r"^500108-\d{4}-\d{6}$")


def today() -> date:
    """The calendar date the service counts in (Asia/Shanghai)."""
    return datetime.now(SHANGHAI).date()


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def client_with(settings: Settings, runtime: Runtime, **changes: object) -> TestClient:
    """A client of an app on `runtime` whose settings differ from the test's by `changes`."""
    return TestClient(create_app(settings.model_copy(update=changes), runtime=runtime))


def app_routes(app: FastAPI) -> Iterator[tuple[str, str]]:
    """(method, path) of every route, through included routers (HEAD aside)."""

    def walk(routes: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
        for route in routes:
            if hasattr(route, "effective_route_contexts"):
                for context in route.effective_route_contexts():
                    methods = getattr(context.original_route, "methods", None) or {"GET"}
                    yield from ((m, context.path) for m in methods if m != "HEAD")
            elif isinstance(route, Mount):
                yield "GET", f"{prefix}{route.path}/{{path}}"
            else:
                methods = getattr(route, "methods", None) or {"GET"}
                yield from ((m, f"{prefix}{route.path}") for m in methods if m != "HEAD")

    yield from walk(app.routes)


# --- problems --------------------------------------------------------------------------------


def assert_problem(response: Response, status: int) -> dict[str, Any]:
    """The response is an RFC 9457 problem with `status`; returns its body."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].split(";")[0].strip() == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    for member in ("type", "title", "status", "detail"):
        assert member in body, (member, body)
    assert body["status"] == status
    return body


def error_locs(problem: dict[str, Any]) -> list[list[Any]]:
    return [list(e["loc"]) for e in problem.get("errors", [])]


def names_field(problem: dict[str, Any], *loc: Any) -> bool:
    """Some error's `loc` ends with `loc` (e.g. "storage_days" or "devices", 0, "device_id")."""
    wanted = list(loc)
    return any(found[-len(wanted) :] == wanted for found in error_locs(problem))


# --- accounts and units ----------------------------------------------------------------------


@dataclass(frozen=True)
class UnitAccount:
    """A unit-side account; `uscc` is its unit's when it has registered one."""

    account_id: str
    token: str
    uscc: str

    @property
    def headers(self) -> dict[str, str]:
        return auth(self.token)


def police_token(runtime: Runtime, role: Role, division: str | None, name: str = "警官") -> str:
    """What `psvs-ledger accounts create` does: a police-side account and its token."""
    token, digest = new_token()
    runtime.ledger.open_account(
        token_sha256=digest,
        role=role,
        name=name,
        division_code=division,
        today=date(2025, 5, 6),
    )
    return token


def unit_body(uscc: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "uscc": uscc,
        "name": "重庆南坪商业管理有限公司",
        "unit_type": "enterprise",
        "address": "重庆市南岸区南坪西路1号",
        "division_code": NANAN,
        "legal_representative": "张三",
        "contact_name": "李四",
        "contact_phone": "023-62881234",
        "acknowledged_instructions": True,
    }
    body.update(overrides)
    return body


def window_officer(client: TestClient, division_code: str) -> str:
    """The token of an officer of `division_code` in the app under test (one per app and
    district), made as `psvs-ledger accounts create --role officer` makes it."""
    state = client.app.state  # type: ignore[attr-defined]
    officers: dict[str, str] = state.__dict__.setdefault("_test_window_officers", {})
    if division_code not in officers:
        token, digest = new_token()
        state.runtime.ledger.open_account(
            token_sha256=digest, role=Role.OFFICER, name="窗口民警", division_code=division_code,
            today=date(2025, 5, 6),
        )  # fmt: skip
        officers[division_code] = token
    return officers[division_code]


def open_legal_person(
    client: TestClient, uscc: str | None = None, phone: str = "13800138000"
) -> UnitAccount:
    """The unit's legal-person account, opened by an officer of its district at the window
    after checking the business licence (POST /v1/units/{uscc}/legal-person-accounts); the
    unit is not registered yet (its district is the division in its USCC)."""
    uscc = uscc or make_uscc()
    officer = window_officer(client, uscc[2:8])
    response = client.post(
        f"/v1/units/{uscc}/legal-person-accounts",
        json={
            "name": "重庆南坪商业管理有限公司",
            "phone": phone,
            "business_licence_id": upload_pdf(client, officer),
        },
        headers=auth(officer),
    )
    assert response.status_code == 201, response.text
    created = response.json()
    return UnitAccount(account_id=created["account_id"], token=created["token"], uscc=uscc)


def open_person(client: TestClient, name: str = "王五") -> UnitAccount:
    """POST /v1/accounts for a person (an agent-to-be); `uscc` is empty."""
    response = client.post(
        "/v1/accounts",
        json={"kind": "person", "name": name, "phone": "13912345678", "id_number": make_id_card()},
    )
    assert response.status_code == 201, response.text
    created = response.json()
    return UnitAccount(account_id=created["account_id"], token=created["token"], uscc="")


def register_unit(client: TestClient, token: str, uscc: str, **overrides: Any) -> Response:
    return client.post("/v1/units", json=unit_body(uscc, **overrides), headers=auth(token))


def unit_account(client: TestClient, uscc: str | None = None) -> UnitAccount:
    """A legal-person account with its unit registered (no letter needed)."""
    account = open_legal_person(client, uscc)
    response = register_unit(client, account.token, account.uscc)
    assert response.status_code == 201, response.text
    return account


# --- attachments -----------------------------------------------------------------------------


def pdf_of_size(size: int) -> bytes:
    assert size >= len(PDF)
    return PDF + b"%" * (size - len(PDF))


def upload(
    client: TestClient,
    token: str,
    content: bytes = PDF,
    filename: str = "letter.pdf",
    media_type: str = "application/pdf",
) -> Response:
    return client.post(
        "/v1/attachments", files={"file": (filename, content, media_type)}, headers=auth(token)
    )


def upload_pdf(client: TestClient, token: str, content: bytes = PDF) -> str:
    """Uploads a small PDF; returns its attachment_id."""
    response = upload(client, token, content)
    assert response.status_code == 201, response.text
    return str(response.json()["attachment_id"])


# --- systems ---------------------------------------------------------------------------------


def device(serial: int, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "device_id": make_device_id(serial),
        "name": f"南坪广场{serial}号摄像机",
        "address": "重庆市南岸区南坪西路1号广场",
        "longitude": 106.57,
        "latitude": 29.53,
        "device_type": "fixed_bullet",
        "indoor": False,
        "face_capture": False,
        "storage_days": 90,
    }
    body.update(overrides)
    return body


def filing_body(uscc: str, devices: int = 2, **overrides: Any) -> dict[str, Any]:
    """A complete, valid filing of a system with `devices` cameras, put into use 5 days ago."""
    body: dict[str, Any] = {
        "unit_uscc": uscc,
        "name": "南坪商圈视频监控系统",
        "place_category": 2,
        "place_type": "shopping_centre",
        "address": "重庆市南岸区南坪西路1号",
        "division_code": NANAN,
        "longitude": 106.57,
        "latitude": 29.53,
        "commissioned_on": (today() - timedelta(days=5)).isoformat(),
        "storage_days": 90,
        "collection_area": "商场出入口及广场",
        "devices": [device(i) for i in range(1, devices + 1)],
        "acknowledged_instructions": True,
    }
    body.update(overrides)
    return body


def file_system(client: TestClient, token: str, body: dict[str, Any], **headers: str) -> Response:
    return client.post("/v1/systems", json=body, headers={**auth(token), **headers})


def filed(client: TestClient, account: UnitAccount, devices: int = 2, **overrides: Any) -> Response:
    """Files a valid system online for `account`'s unit; asserts 201."""
    response = file_system(client, account.token, filing_body(account.uscc, devices, **overrides))
    assert response.status_code == 201, response.text
    return response


def change_body(**changes: Any) -> dict[str, Any]:
    return {
        "effective_on": today().isoformat(),
        "reason": "系统名称变更",
        "changes": changes,
    }


def change(
    client: TestClient,
    token: str,
    system_id: str,
    body: dict[str, Any],
    if_match: str | None,
) -> Response:
    headers = auth(token)
    if if_match is not None:
        headers["If-Match"] = if_match
    return client.post(f"/v1/systems/{system_id}/changes", json=body, headers=headers)


def cancel(client: TestClient, token: str, system_id: str, if_match: str) -> Response:
    return client.post(
        f"/v1/systems/{system_id}/cancellation",
        json={"effective_on": today().isoformat(), "reason": "系统停止使用"},
        headers={**auth(token), "If-Match": if_match},
    )


def list_systems(client: TestClient, token: str, **params: Any) -> dict[str, Any]:
    response = client.get("/v1/systems", params=params, headers=auth(token))
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


def system_history(client: TestClient, token: str, system_id: str) -> list[dict[str, Any]]:
    """GET /v1/systems/{system_id}/history as `token`; asserts 200, returns its items."""
    response = client.get(f"/v1/systems/{system_id}/history", headers=auth(token))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items

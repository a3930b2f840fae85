"""A full scenario, then a search for its ID-card and phone numbers in every response, every
log line and every table of the database: they are stored sealed and never shown in clear."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import psycopg
import pytest
from fastapi.testclient import TestClient
from httpx import Response
from psycopg import sql

from api.core.runtime import Runtime
from api.core.settings import Settings
from ledger import codes
from ledger.accounts import Account
from ledger.values import Role
from tests.support import http as h
from tests.support.http import police_token

ID_BODY = "50010819850612301"
ID_NUMBER = ID_BODY + codes.id_card_check_char(ID_BODY)
AGENT_PHONE = "13912345678"
LEGAL_PHONE = "13698765432"
NUMBERS = (ID_NUMBER, ID_BODY, AGENT_PHONE, LEGAL_PHONE)


def _scenario(client: TestClient, runtime: Runtime) -> tuple[list[Response], str]:
    """Accounts, a unit and its agent, a filing and a change, read by every role."""
    seen: list[Response] = []

    def call(method: str, url: str, token: str | None = None, **kwargs: Any) -> Response:
        headers = h.auth(token) if token else {}
        answer = client.request(
            method, url, headers={**headers, **kwargs.pop("headers", {})}, **kwargs
        )
        seen.append(answer)
        return answer

    person = call(
        "POST",
        "/v1/accounts",
        json={
            "kind": "person",
            "name": "王五",
            "phone": AGENT_PHONE,
            "id_number": ID_NUMBER,
        },
    ).json()
    uscc = h.make_uscc()
    legal = {"token": h.open_legal_person(client, uscc, phone=LEGAL_PHONE).token}
    assert call("POST", "/v1/units", legal["token"], json=h.unit_body(uscc)).status_code == 201
    letter = h.upload_pdf(client, legal["token"])
    agent = call(
        "POST",
        f"/v1/units/{uscc}/agents",
        legal["token"],
        json={
            "authorization_letter_id": letter,
            "account_id": person["account_id"],
        },
    )
    assert agent.status_code == 201, agent.text
    filed = call("POST", "/v1/systems", person["token"], json=h.filing_body(uscc))
    assert filed.status_code == 201, filed.text
    system_id = filed.json()["system_id"]
    changed = call(
        "POST",
        f"/v1/systems/{system_id}/changes",
        person["token"],
        json=h.change_body(name="新名称"),
        headers={"If-Match": filed.headers["etag"]},
    )
    assert changed.status_code == 200, changed.text
    # A rejected request carrying the numbers where they do not belong.
    assert (
        call(
            "POST",
            "/v1/accounts",
            json={
                "kind": "person",
                "name": ID_NUMBER,
                "phone": "12" + AGENT_PHONE,
                "id_number": ID_NUMBER + "1",
            },
        ).status_code
        == 422
    )
    readers = [person["token"], legal["token"]] + [
        police_token(runtime, role, division)
        for role, division in ((Role.OFFICER, h.NANAN), (Role.AUDITOR, "5001"), (Role.ADMIN, None))
    ]
    for token in readers:
        for url in (
            f"/v1/systems/{system_id}",
            f"/v1/systems/{system_id}/history",
            f"/v1/units/{uscc}",
            "/v1/systems",
            "/v1/audit",
            "/v1/feed",
            "/v1/overdue",
            "/v1/systems/export?format=csv",
        ):
            call("GET", url, token)
    return seen, person["account_id"]  # fmt: skip


def _text(value: object) -> str:
    if isinstance(value, bytes | memoryview):
        return bytes(value).decode("utf-8", errors="replace")  # stored events are JSON bytes
    return str(value)


def _table_texts(database_url: str) -> dict[str, str]:
    """Every row of every table of the database, as text (bytes decoded), by table."""
    texts = {}
    with psycopg.connect(database_url) as conn:
        tables = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables"
            " WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
            " AND table_type = 'BASE TABLE'"
        ).fetchall()
        for schema, table in tables:
            rows = conn.execute(
                sql.SQL("SELECT * FROM {}").format(sql.Identifier(schema, table))
            ).fetchall()
            texts[f"{schema}.{table}"] = "\n".join(" ".join(map(_text, row)) for row in rows)
    return texts


def uscc_in(text: str) -> bool:
    return "unit_uscc" in text and "contact_phone" in text


def test_no_id_card_or_phone_number_in_responses_logs_or_tables(
    client: TestClient, runtime: Runtime, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    responses, _ = _scenario(client, runtime)
    runtime.wait_for_views(runtime.head(), 10, names=list(runtime.slots))
    logs = capsys.readouterr().err
    tables = _table_texts(str(settings.database_url))
    events = tables["public.ledger_events"]

    assert len(responses) > 40 and '"route": "/v1/accounts"' in logs
    assert "enc:v2:" in events  # the numbers are there, sealed (v2: no hint beside them)
    assert h.NANAN in events and uscc_in(events)  # and the table was read in clear
    for number in NUMBERS:
        assert [r.request.url for r in responses if number in r.text] == []
        assert number not in logs
        assert [name for name, text in tables.items() if number in text] == []


def test_the_ledger_opens_what_it_sealed(client: TestClient, runtime: Runtime) -> None:
    created = client.post("/v1/accounts", json={
        "kind": "person", "name": "王五", "phone": AGENT_PHONE, "id_number": ID_NUMBER.lower(),
    }).json()  # fmt: skip
    account: object = runtime.ledger.repository.get(UUID(created["account_id"]))
    assert isinstance(account, Account)

    assert runtime.ledger.personal_numbers(account) == {
        "phone": AGENT_PHONE, "id_number": ID_NUMBER,
    }  # fmt: skip

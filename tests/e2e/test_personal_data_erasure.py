"""Every personal number and name sealed, and erasable (issue 17): a search of the whole
database (every column of every table, as text; the events' bytes decoded) for each number and
name this test uses, before an erasure (only sealed) and after it (gone for good: the data keys
destroyed), with the log unchanged and its hash chain still verified."""

from __future__ import annotations

import argparse
import json
from typing import Any
from uuid import UUID

import psycopg
from fastapi.testclient import TestClient
from psycopg import sql

from api.cli.accounts import add_account_commands
from api.cli.units import add_unit_commands
from api.core.runtime import Runtime
from api.core.settings import Settings
from api.queries.verification import verify
from ledger import codes
from ledger.accounts import Account
from ledger.storage.crypto import ERASED, Erased, FieldCipher, sealed_subject
from ledger.units import CONTACT, LEGAL_REPRESENTATIVE, Unit, person_subject
from ledger.values import Role
from tests.support import http as h
from tests.support.http import police_token

ID_BODY = "11010519900307441"
ID_NUMBER = ID_BODY + codes.id_card_check_char(ID_BODY)
PERSON_PHONE = "13711112222"
LEGAL_PHONE = "13622223333"
CONTACT_PHONE = "13533334444"
CONTACT_NAME = "司马光明"
REPRESENTATIVE = "诸葛孔亮"
PERSONAL = (
    ID_NUMBER,
    ID_BODY,
    PERSON_PHONE,
    LEGAL_PHONE,
    CONTACT_PHONE,
    CONTACT_NAME,
    REPRESENTATIVE,
)
ADDRESS = "重庆市南岸区南坪西路1号"  # stored in clear: shows the search finds what is there


def _forms(value: str) -> tuple[str, ...]:
    """A value as text holds it: as it is, and as JSON with non-ASCII escaped."""
    return (value, json.dumps(value)[1:-1])


def _columns_holding(database_url: str, values: tuple[str, ...]) -> dict[str, list[str]]:
    """For each value, the columns (`schema.table.column`) of the database holding it in any
    row: every column of every table in information_schema, cast to text; bytea decoded."""
    found: dict[str, list[str]] = {value: [] for value in values}
    with psycopg.connect(database_url) as conn:
        columns = conn.execute(
            "SELECT c.table_schema, c.table_name, c.column_name, c.data_type"
            " FROM information_schema.columns c JOIN information_schema.tables t"
            " ON t.table_schema = c.table_schema AND t.table_name = c.table_name"
            " WHERE c.table_schema NOT IN ('pg_catalog', 'information_schema')"
            " AND t.table_type = 'BASE TABLE'"
        ).fetchall()
        assert len(columns) > 50
        for schema, table, column, data_type in columns:
            cast = sql.SQL("") if data_type == "bytea" else sql.SQL("::text")
            rows = conn.execute(
                sql.SQL("SELECT {c}{cast} FROM {t} WHERE {c} IS NOT NULL").format(
                    c=sql.Identifier(column), cast=cast, t=sql.Identifier(schema, table)
                )
            ).fetchall()
            texts = [
                bytes(v).decode("utf-8", errors="replace")
                if isinstance(v, bytes | memoryview)
                else str(v)
                for (v,) in rows
            ]
            text = "\n".join(texts)
            for value in values:
                if any(form in text for form in _forms(value)):
                    found[value].append(f"{schema}.{table}.{column}")
    return found


def _events(database_url: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(database_url) as conn:
        return conn.execute(
            "SELECT notification_id, originator_id, originator_version, topic, state"
            " FROM public.ledger_events ORDER BY notification_id"
        ).fetchall()


def _cli(settings: Settings, *argv: str) -> int:
    """`psvs-ledger ARGV...` in this process (the account and unit commands)."""
    top = argparse.ArgumentParser(prog="psvs-ledger")
    commands = top.add_subparsers(dest="command", required=True)
    add_account_commands(commands)
    add_unit_commands(commands)
    args = top.parse_args(argv)
    code: int = args.handler(args, settings)
    return code


def _audit(client: TestClient, token: str) -> list[dict[str, Any]]:
    response = client.get("/v1/audit?limit=500", headers=h.auth(token))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _scenario(client: TestClient, runtime: Runtime) -> dict[str, Any]:
    person = client.post(
        "/v1/accounts",
        json={
            "kind": "person",
            "name": "王五",
            "phone": PERSON_PHONE,
            "id_number": ID_NUMBER,
        },
    )
    assert person.status_code == 201, person.text
    uscc = h.make_uscc()
    legal = h.open_legal_person(client, uscc, phone=LEGAL_PHONE)
    unit = client.post(
        "/v1/units",
        headers=h.auth(legal.token),
        json=h.unit_body(
            uscc,
            legal_representative=REPRESENTATIVE,
            contact_name=CONTACT_NAME,
            contact_phone=CONTACT_PHONE,
        ),
    )
    assert unit.status_code == 201, unit.text
    officer = police_token(runtime, Role.OFFICER, h.NANAN)
    auditor = police_token(runtime, Role.AUDITOR, "5001")
    admin = police_token(runtime, Role.ADMIN, None)
    assert runtime.wait_for_views(runtime.head(), 10, names=list(runtime.slots))
    return {
        "person": person.json(), "uscc": uscc, "officer": officer, "auditor": auditor,
        "admin": admin,
        "unit_response": unit.json(),
    }  # fmt: skip


def _unit_shown(client: TestClient, token: str, uscc: str) -> dict[str, Any]:
    response = client.get(f"/v1/units/{uscc}", headers=h.auth(token))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return {k: body[k] for k in ("legal_representative", "contact_name", "contact_phone")}


def test_personal_data_is_sealed_then_erased_for_good_with_every_proof_intact(
    client: TestClient, runtime: Runtime, settings: Settings
) -> None:
    url = str(settings.database_url)
    s = _scenario(client, runtime)
    uscc, account_id = s["uscc"], UUID(s["person"]["account_id"])

    # Before: shown in full to those who may see it, masked in the audit, stored only sealed.
    assert s["unit_response"]["contact_phone"] == CONTACT_PHONE
    assert _unit_shown(client, s["officer"], uscc) == {
        "legal_representative": REPRESENTATIVE, "contact_name": CONTACT_NAME,
        "contact_phone": CONTACT_PHONE,
    }  # fmt: skip
    assert _unit_shown(client, s["auditor"], uscc)["contact_phone"] == "135****4444"
    registered = next(i for i in _audit(client, s["auditor"]) if i["type"] == "unit_registered")
    assert registered["data"]["contact_phone"] == "135****4444"
    assert registered["data"]["contact_name"] == "司***"
    assert registered["data"]["legal_representative"] == "诸***"
    opened = next(
        i for i in _audit(client, s["admin"])
        if i["type"] == "account_opened" and i["actor"]["account_id"] == str(account_id)
    )  # fmt: skip
    assert opened["data"]["phone"] == "137****2222"
    assert opened["data"]["id_number"] == "110105********441" + ID_NUMBER[-1]
    before = _columns_holding(url, (*PERSONAL, ADDRESS))
    assert "public.ledger_events.state" in before.pop(ADDRESS)  # the search sees clear text
    assert before == {value: [] for value in PERSONAL}
    unit = runtime.ledger.find_unit(uscc)
    account = runtime.ledger.get_account(account_id)
    assert isinstance(unit, Unit) and isinstance(account, Account)
    assert sealed_subject(unit.contact_phone) == person_subject(uscc, CONTACT)
    assert sealed_subject(unit.contact_name) == person_subject(uscc, CONTACT)
    assert sealed_subject(unit.legal_representative) == person_subject(uscc, LEGAL_REPRESENTATIVE)
    assert sealed_subject(account.phone or "") == sealed_subject(account.id_number or "")
    assert sealed_subject(account.phone or "") == account_id
    assert runtime.ledger.personal_numbers(account) == {
        "phone": PERSON_PHONE,
        "id_number": ID_NUMBER,
    }
    log_before = _events(url)

    # Erasure, by an admin on the command line.
    assert _cli(settings, "accounts", "erase", str(account_id), "--reason", "申请删除") == 0
    assert _cli(settings, "units", "erase-contact", uscc) == 0
    assert _cli(settings, "units", "erase-contact", uscc, "--legal-representative") == 0
    assert _cli(settings, "accounts", "erase", str(account_id)) == 0  # idempotent
    assert runtime.wait_for_views(runtime.head(), 10, names=list(runtime.slots))

    # No event was changed: the log only grew, and its hash chain still verifies.
    log_after = _events(url)
    assert log_after[: len(log_before)] == log_before
    erasures = [row[3] for row in log_after[len(log_before) :]]
    assert erasures == [
        "ledger.accounts:Account.Erased", "ledger.units:Unit.PersonErased",
        "ledger.units:Unit.PersonErased",
    ]  # fmt: skip
    assert verify(runtime).verified

    # Every response shows the erased values as erased.
    for token in (s["officer"], s["auditor"]):
        assert _unit_shown(client, token, uscc) == dict.fromkeys(
            ("legal_representative", "contact_name", "contact_phone"), ERASED
        )
    account = runtime.ledger.get_account(account_id)
    assert account.erased and account.disabled
    assert runtime.ledger.personal_numbers(account) == {"phone": ERASED, "id_number": ERASED}
    assert client.get("/v1/accounts/me", headers=h.auth(s["person"]["token"])).status_code == 401
    types = [i["type"] for i in _audit(client, s["admin"])]
    assert types.count("unit_person_erased") == 2 and types.count("account_erased") == 1

    # Gone for good: nowhere in the database, and the data keys destroyed.
    assert _columns_holding(url, PERSONAL) == {value: [] for value in PERSONAL}
    subjects = [
        account_id,
        person_subject(uscc, CONTACT),
        person_subject(uscc, LEGAL_REPRESENTATIVE),
    ]
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT wrapped_key, erased_at FROM subject_keys WHERE subject_id = ANY(%s)",
            (subjects,),
        ).fetchall()
    assert len(rows) == 3 and all(key is None and at is not None for key, at in rows)
    # A fresh cipher with the same ring and the same key table opens none of them.
    cold = _cold_cipher(runtime)
    for value, field in (
        (unit.contact_phone, "contact_phone"), (unit.contact_name, "contact_name"),
        (unit.legal_representative, "legal_representative"), (account.phone, "phone"),
        (account.id_number, "id_number"),
    ):  # fmt: skip
        assert value is not None
        try:
            cold.open(value, field=field)
        except Erased:
            continue
        raise AssertionError(f"{field} still opens after the erasure")


def _cold_cipher(runtime: Runtime) -> FieldCipher:
    """A cipher with the ledger's ring and key table, and nothing in memory."""
    ring = runtime.ledger.cipher._ring
    cipher = FieldCipher.ephemeral()
    cipher._ring = dict(ring)
    cipher.current = runtime.ledger.cipher.current
    cipher.subjects = runtime.ledger.cipher.subjects
    return cipher


def test_the_audit_view_forgets_the_masked_forms_of_an_erased_person(
    client: TestClient, runtime: Runtime, settings: Settings
) -> None:
    """The audit view stored each item as masked when it was written (`135****4444`, `司***`):
    after an erasure those items show the values as erased, and no masked form is left."""
    url = str(settings.database_url)
    s = _scenario(client, runtime)
    uscc, account_id = s["uscc"], s["person"]["account_id"]
    masks = ("135****4444", "司***", "诸***", "137****2222", "110105********")
    assert all(_columns_holding(url, masks).values())  # the view holds them before

    assert _cli(settings, "accounts", "erase", account_id) == 0
    assert _cli(settings, "units", "erase-contact", uscc) == 0
    assert _cli(settings, "units", "erase-contact", uscc, "--legal-representative") == 0
    assert runtime.wait_for_views(runtime.head(), 10, names=list(runtime.slots))

    items = _audit(client, s["admin"])
    registered = next(i for i in items if i["type"] == "unit_registered")
    opened = next(
        i for i in items
        if i["type"] == "account_opened" and i["actor"]["account_id"] == account_id
    )  # fmt: skip
    assert {k: registered["data"][k] for k in ("contact_phone", "contact_name")} == {
        "contact_phone": ERASED, "contact_name": ERASED,
    }  # fmt: skip
    assert registered["data"]["legal_representative"] == ERASED
    assert {k: opened["data"][k] for k in ("phone", "id_number")} == {
        "phone": ERASED, "id_number": ERASED,
    }  # fmt: skip
    assert _columns_holding(url, masks) == {mask: [] for mask in masks}

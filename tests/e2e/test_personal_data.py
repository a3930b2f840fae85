"""No ID-card or phone number in any log line; phones masked for auditors."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from api.core.runtime import Runtime
from ledger import codes
from ledger.values import Role
from tests.support import http as h
from tests.support.http import auth, police_token

ID_BODY = "50010819850612301"
ID_NUMBER = ID_BODY + codes.id_card_check_char(ID_BODY)
PHONE = "13912345678"
USCC_BODY = "91500108MA5U7Q2K1"
USCC = USCC_BODY + codes.uscc_check_char(USCC_BODY)
PERSONAL = re.compile(rf"{ID_NUMBER}|{PHONE}|{ID_BODY}")


def test_no_personal_number_reaches_the_logs(
    client: TestClient, runtime: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    person = client.post(
        "/v1/accounts",
        json={
            "kind": "person",
            "name": "王五",
            "phone": PHONE,
            "id_number": ID_NUMBER,
        },
    )
    assert person.status_code == 201
    legal = {"token": h.open_legal_person(client, USCC, phone=PHONE).token}
    unit = client.post(
        "/v1/units",
        headers=auth(legal["token"]),
        json={
            "uscc": USCC,
            "name": "某公司",
            "unit_type": "enterprise",
            "address": "南岸区",
            "division_code": "500108",
            "legal_representative": "赵六",
            "contact_name": "王五",
            "contact_phone": PHONE,
            "acknowledged_instructions": True,
        },
    )
    assert unit.status_code == 201
    # A bad request that carries the numbers in odd places must not echo them into logs.
    bad = client.post(
        "/v1/accounts",
        json={
            "kind": "person",
            "name": ID_NUMBER,
            "phone": "12" + PHONE,
            "id_number": ID_NUMBER + "1",
        },
    )
    assert bad.status_code == 422

    logs = capsys.readouterr().err
    assert '"route": "/v1/accounts"' in logs  # the log lines were captured at all
    assert not PERSONAL.search(logs)


def test_an_auditor_sees_a_units_phone_masked_and_an_officer_in_full(
    client: TestClient, runtime: Runtime
) -> None:
    legal = {"token": h.open_legal_person(client, USCC, phone=PHONE).token}
    client.post(
        "/v1/units",
        headers=auth(legal["token"]),
        json={
            "uscc": USCC,
            "name": "某公司",
            "unit_type": "enterprise",
            "address": "南岸区",
            "division_code": "500108",
            "legal_representative": "赵六",
            "contact_name": "王五",
            "contact_phone": PHONE,
            "acknowledged_instructions": True,
        },
    )
    auditor = police_token(runtime, Role.AUDITOR, "5001")
    officer = police_token(runtime, Role.OFFICER, "500108")

    as_auditor = client.get(f"/v1/units/{USCC}", headers=auth(auditor)).json()
    as_officer = client.get(f"/v1/units/{USCC}", headers=auth(officer)).json()

    assert as_auditor["contact_phone"] == codes.mask_phone(PHONE) != PHONE
    assert as_officer["contact_phone"] == PHONE

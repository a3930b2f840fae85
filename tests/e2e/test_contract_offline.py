"""Offline filing by an officer, the channel that sticks, and auditors' read-only reach, through
HTTP only (docs/contract.md, "Systems" and "Channels")."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.core.runtime import Runtime
from ledger.values import Role
from tests.support.codes import make_uscc
from tests.support.http import (
    UnitAccount,
    assert_problem,
    auth,
    cancel,
    change,
    change_body,
    error_locs,
    file_system,
    filing_body,
    police_token,
    upload_pdf,
)


@pytest.fixture
def offline(client: TestClient, officer: str, owner: UnitAccount) -> dict[str, Any]:
    """A system the officer keyed in from the unit's paper form."""
    body = filing_body(owner.uscc, paper_form_id=upload_pdf(client, officer))
    response = file_system(client, officer, body)
    assert response.status_code == 201, response.text
    system: dict[str, Any] = response.json()
    return system


def test_an_officer_files_offline_for_a_registered_unit_with_the_paper_forms_scan(
    client: TestClient, officer: str, owner: UnitAccount
) -> None:
    body = filing_body(owner.uscc, paper_form_id=upload_pdf(client, officer))

    response = file_system(client, officer, body)

    assert response.status_code == 201, response.text
    assert response.json()["channel"] == "offline"
    assert response.json()["status"] == "filed"
    assert response.json()["unit_uscc"] == owner.uscc
    assert response.headers["ETag"] == '"1"'


def test_an_offline_filing_is_recorded_as_the_officers_on_behalf_of_the_unit(
    client: TestClient, officer: str, owner: UnitAccount, offline: dict[str, Any]
) -> None:
    response = client.get(f"/v1/systems/{offline['system_id']}/history", headers=auth(officer))

    assert response.status_code == 200, response.text
    [item] = response.json()["items"]
    assert item["channel"] == "offline"
    assert item["actor"]["role"] == "officer"
    assert item["on_behalf_of"] == owner.uscc


def test_an_offline_filing_without_the_paper_form_is_422_naming_it(
    client: TestClient, runtime: Runtime, officer: str, owner: UnitAccount
) -> None:
    before = runtime.head()

    response = file_system(client, officer, filing_body(owner.uscc))

    problem = assert_problem(response, 422)
    assert ["body", "paper_form_id"] in error_locs(problem)
    assert runtime.head() == before


def test_an_offline_filing_for_an_unregistered_unit_is_422_naming_unit_uscc(
    client: TestClient, officer: str
) -> None:
    body = filing_body(make_uscc(), paper_form_id=upload_pdf(client, officer))

    problem = assert_problem(file_system(client, officer, body), 422)

    assert ["body", "unit_uscc"] in error_locs(problem)


def test_an_offline_filing_names_a_missing_paper_form_and_bad_fields_together(
    client: TestClient, officer: str, owner: UnitAccount
) -> None:
    response = file_system(client, officer, filing_body(owner.uscc, storage_days=20))

    problem = assert_problem(response, 422)
    locs = error_locs(problem)
    assert ["body", "storage_days"] in locs, locs
    assert ["body", "paper_form_id"] in locs, locs


def test_the_units_own_account_changing_an_offline_filed_system_is_409(
    client: TestClient, runtime: Runtime, owner: UnitAccount, offline: dict[str, Any]
) -> None:
    before = runtime.head()

    response = change(client, owner.token, offline["system_id"], change_body(name="新名称"), '"1"')

    assert_problem(response, 409)
    assert runtime.head() == before


def test_the_units_own_account_cancelling_an_offline_filed_system_is_409(
    client: TestClient, owner: UnitAccount, offline: dict[str, Any]
) -> None:
    assert_problem(cancel(client, owner.token, offline["system_id"], '"1"'), 409)


def test_the_unit_reads_its_offline_filed_system(
    client: TestClient, owner: UnitAccount, offline: dict[str, Any]
) -> None:
    response = client.get(f"/v1/systems/{offline['system_id']}", headers=owner.headers)

    assert response.status_code == 200, response.text
    assert response.json()["channel"] == "offline"


def test_the_officer_changes_an_offline_filed_system(
    client: TestClient, officer: str, offline: dict[str, Any]
) -> None:
    response = change(client, officer, offline["system_id"], change_body(name="新名称"), '"1"')

    assert response.status_code == 200, response.text
    assert response.json()["name"] == "新名称"
    assert response.json()["channel"] == "offline"
    assert response.headers["ETag"] == '"2"'


def test_an_auditor_of_prefix_5001_reads_a_system_of_500108(
    client: TestClient, runtime: Runtime, offline: dict[str, Any]
) -> None:
    auditor = police_token(runtime, Role.AUDITOR, "5001")

    response = client.get(f"/v1/systems/{offline['system_id']}", headers=auth(auditor))

    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == '"1"'


def test_an_auditor_of_prefix_5101_gets_404_for_a_system_of_500108(
    client: TestClient, runtime: Runtime, offline: dict[str, Any]
) -> None:
    auditor = police_token(runtime, Role.AUDITOR, "5101")

    response = client.get(f"/v1/systems/{offline['system_id']}", headers=auth(auditor))

    assert_problem(response, 404)


def test_an_auditor_changing_a_system_it_can_read_is_403(
    client: TestClient, runtime: Runtime, offline: dict[str, Any]
) -> None:
    auditor = police_token(runtime, Role.AUDITOR, "5001")
    before = runtime.head()

    response = change(client, auditor, offline["system_id"], change_body(name="新名称"), '"1"')

    assert_problem(response, 403)
    assert runtime.head() == before

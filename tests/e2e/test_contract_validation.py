"""Invalid requests, through HTTP only: one 422 names every bad field, nothing is written, and
every error is application/problem+json (docs/contract.md, "General")."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from api.core.runtime import Runtime
from ledger.values import Role
from tests.support.codes import NANAN, bad_uscc, make_uscc
from tests.support.http import (
    UnitAccount,
    assert_problem,
    auth,
    device,
    error_locs,
    file_system,
    filing_body,
    list_systems,
    names_field,
    open_legal_person,
    open_person,
    police_token,
    register_unit,
    unit_account,
    unit_body,
    upload_pdf,
)

# --- accounts and units ----------------------------------------------------------------------


def test_a_unit_with_a_bad_uscc_check_character_is_422_naming_body_uscc(
    client: TestClient, runtime: Runtime
) -> None:
    agent = open_person(client)
    letter = upload_pdf(client, agent.token)
    uscc = bad_uscc()
    before = runtime.head()

    response = register_unit(client, agent.token, uscc, authorization_letter_id=letter)

    problem = assert_problem(response, 422)
    assert ["body", "uscc"] in error_locs(problem)
    assert runtime.head() == before
    officer = police_token(runtime, Role.OFFICER, NANAN)
    assert_problem(client.get(f"/v1/units/{uscc}", headers=auth(officer)), 404)


def test_a_legal_person_account_with_a_bad_uscc_is_422_naming_body_uscc(
    client: TestClient, runtime: Runtime
) -> None:
    before = runtime.head()

    response = client.post(
        "/v1/accounts",
        json={"kind": "legal_person", "name": "某公司", "phone": "13800138000", "uscc": bad_uscc()},
    )

    problem = assert_problem(response, 422)
    assert ["body", "uscc"] in error_locs(problem)
    assert runtime.head() == before


def test_a_person_registering_a_unit_without_a_letter_is_422_naming_it(
    client: TestClient, runtime: Runtime
) -> None:
    agent = open_person(client)
    uscc = make_uscc()
    before = runtime.head()

    response = register_unit(client, agent.token, uscc)

    problem = assert_problem(response, 422)
    assert ["body", "authorization_letter_id"] in error_locs(problem)
    assert runtime.head() == before
    officer = police_token(runtime, Role.OFFICER, NANAN)
    assert_problem(client.get(f"/v1/units/{uscc}", headers=auth(officer)), 404)


def test_a_unit_registered_twice_is_409(client: TestClient, owner: UnitAccount) -> None:
    response = register_unit(client, owner.token, owner.uscc)

    assert_problem(response, 409)


def test_retrying_a_unit_registration_with_the_same_key_returns_the_first_response(
    client: TestClient, runtime: Runtime
) -> None:
    account = open_legal_person(client)
    body = unit_body(account.uscc)
    key = {"Idempotency-Key": "unit-1"}
    first = client.post("/v1/units", json=body, headers={**account.headers, **key})
    head = runtime.head()

    retry = client.post("/v1/units", json=body, headers={**account.headers, **key})

    assert first.status_code == 201, first.text
    assert retry.status_code == 201, retry.text
    assert retry.json() == first.json()
    assert runtime.head() == head


def test_a_unit_body_with_an_unknown_field_is_422_naming_it(client: TestClient) -> None:
    account = unit_account(client)

    response = client.post(
        "/v1/units", json=unit_body(make_uscc(), colour="red"), headers=account.headers
    )

    problem = assert_problem(response, 422)
    assert names_field(problem, "colour")


# --- filings ---------------------------------------------------------------------------------


def test_a_filing_keeping_images_20_days_is_422_naming_storage_days_and_writes_nothing(
    client: TestClient, runtime: Runtime, owner: UnitAccount
) -> None:
    before = runtime.head()

    response = file_system(client, owner.token, filing_body(owner.uscc, storage_days=20))

    problem = assert_problem(response, 422)
    assert ["body", "storage_days"] in error_locs(problem)
    assert runtime.head() == before
    assert list_systems(client, owner.token)["items"] == []


def test_a_device_keeping_images_20_days_is_422_naming_that_device(
    client: TestClient, owner: UnitAccount
) -> None:
    body = filing_body(owner.uscc, devices=2)
    body["devices"][1]["storage_days"] = 20

    problem = assert_problem(file_system(client, owner.token, body), 422)

    assert ["body", "devices", 1, "storage_days"] in error_locs(problem)


def test_a_place_type_outside_its_category_is_422_naming_place_type(
    client: TestClient, owner: UnitAccount
) -> None:
    body = filing_body(owner.uscc, place_category=1, place_type="shopping_centre")

    problem = assert_problem(file_system(client, owner.token, body), 422)

    assert ["body", "place_type"] in error_locs(problem)


def test_a_filing_with_no_devices_is_422_naming_devices(
    client: TestClient, owner: UnitAccount
) -> None:
    problem = assert_problem(
        file_system(client, owner.token, filing_body(owner.uscc, devices=0)), 422
    )

    assert names_field(problem, "devices")


def test_a_filing_without_acknowledging_the_instructions_is_422_naming_it(
    client: TestClient, owner: UnitAccount
) -> None:
    body = filing_body(owner.uscc, acknowledged_instructions=False)

    problem = assert_problem(file_system(client, owner.token, body), 422)

    assert names_field(problem, "acknowledged_instructions")


def test_several_bad_fields_are_all_named_in_one_422(
    client: TestClient, runtime: Runtime, owner: UnitAccount
) -> None:
    body = filing_body(
        owner.uscc,
        unit_uscc=bad_uscc(),
        storage_days=20,
        place_category=1,
        place_type="shopping_centre",
    )
    del body["name"]
    body["devices"][0]["device_id"] = "5001080000131"  # 13 digits, not 20
    before = runtime.head()

    response = file_system(client, owner.token, body)

    problem = assert_problem(response, 422)
    locs = error_locs(problem)
    for loc in (
        ["body", "unit_uscc"],
        ["body", "name"],
        ["body", "storage_days"],
        ["body", "devices", 0, "device_id"],
        ["body", "place_type"],
    ):
        assert loc in locs, (loc, locs)
    assert runtime.head() == before


def test_several_semantically_bad_fields_of_a_well_formed_body_are_all_named(
    client: TestClient, owner: UnitAccount
) -> None:
    body = filing_body(
        owner.uscc,
        storage_days=20,
        division_code="500199",
        place_category=1,
        place_type="shopping_centre",
    )
    body["devices"][0]["device_id"] = "50010800001990000001"  # type 199 is not a camera
    body["devices"].append(device(9, storage_days=7))

    problem = assert_problem(file_system(client, owner.token, body), 422)

    locs = error_locs(problem)
    for loc in (
        ["body", "storage_days"],
        ["body", "division_code"],
        ["body", "place_type"],
        ["body", "devices", 0, "device_id"],
        ["body", "devices", 2, "storage_days"],
    ):
        assert loc in locs, (loc, locs)


def test_a_filing_with_an_unknown_field_is_422_naming_it(
    client: TestClient, runtime: Runtime, owner: UnitAccount
) -> None:
    before = runtime.head()

    response = file_system(client, owner.token, filing_body(owner.uscc, colour="red"))

    problem = assert_problem(response, 422)
    assert names_field(problem, "colour")
    assert runtime.head() == before


# --- auth and the problem format -------------------------------------------------------------


def test_a_request_without_a_token_is_401(client: TestClient) -> None:
    assert_problem(client.get("/v1/systems"), 401)


def test_a_request_with_a_bad_token_is_401(client: TestClient) -> None:
    assert_problem(client.get("/v1/systems", headers=auth("not-a-token")), 401)


def test_a_filing_without_a_token_is_401_and_writes_nothing(
    client: TestClient, runtime: Runtime
) -> None:
    before = runtime.head()

    response = client.post("/v1/systems", json=filing_body(make_uscc()))

    assert_problem(response, 401)
    assert runtime.head() == before


def test_every_error_is_problem_json_with_type_title_status_detail(
    client: TestClient, owner: UnitAccount
) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    responses: dict[int, Any] = {
        401: client.get(f"/v1/systems/{missing}"),
        404: client.get(f"/v1/systems/{missing}", headers=owner.headers),
        409: register_unit(client, owner.token, owner.uscc),
        422: file_system(client, owner.token, {"unit_uscc": owner.uscc}),
    }

    for status, response in responses.items():
        problem = assert_problem(response, status)
        assert isinstance(problem["title"], str) and isinstance(problem["detail"], str)
    assert all(
        isinstance(e["loc"], list) and isinstance(e["msg"], str)
        for e in responses[422].json()["errors"]
    )


def test_a_unit_body_with_several_bad_fields_names_them_all(
    client: TestClient, runtime: Runtime
) -> None:
    agent = open_person(client)
    body = unit_body(bad_uscc(), contact_phone="12345", division_code="500199")
    del body["name"]
    before = runtime.head()

    response = client.post("/v1/units", json=body, headers=agent.headers)

    problem = assert_problem(response, 422)
    locs = error_locs(problem)
    for loc in (
        ["body", "uscc"],
        ["body", "name"],
        ["body", "contact_phone"],
        ["body", "division_code"],
        ["body", "authorization_letter_id"],
    ):
        assert loc in locs, (loc, locs)
    assert runtime.head() == before


def test_a_change_with_several_bad_fields_names_them_all(
    client: TestClient, runtime: Runtime, owner: UnitAccount
) -> None:
    system = file_system(client, owner.token, filing_body(owner.uscc)).json()
    before = runtime.head()

    response = client.post(
        f"/v1/systems/{system['system_id']}/changes",
        json={"reason": "扩容", "changes": {"storage_days": 20, "place_type": "airport"}},
        headers={**owner.headers, "If-Match": '"1"'},
    )

    problem = assert_problem(response, 422)
    locs = error_locs(problem)
    for loc in (
        ["body", "effective_on"],
        ["body", "changes", "storage_days"],
        ["body", "changes", "place_type"],
    ):
        assert loc in locs, (loc, locs)
    assert runtime.head() == before


def test_a_change_with_several_semantically_bad_fields_names_them_all(
    client: TestClient, runtime: Runtime, owner: UnitAccount
) -> None:
    system = file_system(client, owner.token, filing_body(owner.uscc)).json()
    before = runtime.head()

    response = client.post(
        f"/v1/systems/{system['system_id']}/changes",
        json={
            "effective_on": "2026-01-01",
            "reason": "扩容",
            "changes": {"storage_days": 20, "place_type": "airport"},
        },
        headers={**owner.headers, "If-Match": '"1"'},
    )

    problem = assert_problem(response, 422)
    locs = error_locs(problem)
    assert ["body", "changes", "storage_days"] in locs, locs
    assert ["body", "changes", "place_type"] in locs, locs
    assert runtime.head() == before


def test_an_account_body_with_several_bad_fields_names_them_all(
    client: TestClient, runtime: Runtime
) -> None:
    before = runtime.head()

    response = client.post(
        "/v1/accounts",
        json={"kind": "legal_person", "phone": "12345", "uscc": bad_uscc()},
    )

    problem = assert_problem(response, 422)
    locs = error_locs(problem)
    for loc in (["body", "name"], ["body", "phone"], ["body", "uscc"]):
        assert loc in locs, (loc, locs)
    assert runtime.head() == before

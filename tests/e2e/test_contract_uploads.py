"""Attachments (at most 102,400 bytes of PDF, JPEG, PNG, XLSX or CSV) and the authorisation
letter they carry, through HTTP only (docs/contract.md, "Attachments" and "Units and agents")."""

from __future__ import annotations

import hashlib

from fastapi.testclient import TestClient

from api.core.runtime import Runtime
from ledger.values import Role
from tests.support.codes import NANAN, make_uscc
from tests.support.http import (
    assert_problem,
    auth,
    error_locs,
    file_system,
    filing_body,
    open_person,
    pdf_of_size,
    police_token,
    register_unit,
    unit_account,
    upload,
    upload_pdf,
)

EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(range(256)) * 8


def test_a_200_kb_upload_is_413_and_writes_nothing(client: TestClient, runtime: Runtime) -> None:
    agent = open_person(client)
    before = runtime.head()

    response = upload(client, agent.token, pdf_of_size(200 * 1024))

    assert_problem(response, 413)
    assert runtime.head() == before


def test_an_upload_of_exactly_102400_bytes_is_201_with_its_sha256_and_size(
    client: TestClient,
) -> None:
    agent = open_person(client)
    content = pdf_of_size(102_400)

    response = upload(client, agent.token, content)

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["attachment_id"]
    assert body["sha256"] == hashlib.sha256(content).hexdigest()
    assert body["size"] == 102_400
    assert body["media_type"] == "application/pdf"


def test_an_upload_of_102401_bytes_is_413(client: TestClient, runtime: Runtime) -> None:
    agent = open_person(client)
    before = runtime.head()

    response = upload(client, agent.token, pdf_of_size(102_401))

    assert_problem(response, 413)
    assert runtime.head() == before


def test_an_executable_upload_is_415(client: TestClient, runtime: Runtime) -> None:
    agent = open_person(client)
    before = runtime.head()

    response = upload(client, agent.token, EXE, "setup.exe", "application/octet-stream")

    assert_problem(response, 415)
    assert runtime.head() == before


def test_an_executable_named_and_labelled_as_pdf_is_415(client: TestClient) -> None:
    agent = open_person(client)

    response = upload(client, agent.token, EXE, "letter.pdf", "application/pdf")

    assert_problem(response, 415)


def test_a_person_registers_a_unit_with_its_authorisation_letter(client: TestClient) -> None:
    agent = open_person(client)
    letter = upload_pdf(client, agent.token)
    uscc = make_uscc()

    response = register_unit(client, agent.token, uscc, authorization_letter_id=letter)

    assert response.status_code == 201, response.text
    assert response.json()["uscc"] == uscc
    assert client.get(f"/v1/units/{uscc}", headers=agent.headers).status_code == 200


def test_the_agent_who_registered_a_unit_files_for_it_online(client: TestClient) -> None:
    agent = open_person(client)
    uscc = make_uscc()
    register_unit(
        client, agent.token, uscc, authorization_letter_id=upload_pdf(client, agent.token)
    )

    response = file_system(client, agent.token, filing_body(uscc))

    assert response.status_code == 201, response.text
    assert response.json()["channel"] == "online"
    assert response.json()["unit_uscc"] == uscc


def test_a_letter_uploaded_by_someone_else_is_422_naming_it(
    client: TestClient, runtime: Runtime
) -> None:
    someone = open_person(client, "赵六")
    letter = upload_pdf(client, someone.token)
    agent = open_person(client)
    uscc = make_uscc()
    before = runtime.head()

    response = register_unit(client, agent.token, uscc, authorization_letter_id=letter)

    problem = assert_problem(response, 422)
    assert ["body", "authorization_letter_id"] in error_locs(problem)
    assert runtime.head() == before
    officer = police_token(runtime, Role.OFFICER, NANAN)
    assert_problem(client.get(f"/v1/units/{uscc}", headers=auth(officer)), 404)


def test_a_letter_id_that_names_no_upload_is_422_naming_it(client: TestClient) -> None:
    agent = open_person(client)

    response = register_unit(
        client,
        agent.token,
        make_uscc(),
        authorization_letter_id="00000000-0000-4000-8000-000000000000",
    )

    problem = assert_problem(response, 422)
    assert ["body", "authorization_letter_id"] in error_locs(problem)


def test_an_agent_of_one_unit_cannot_see_another_unit(client: TestClient) -> None:
    other = unit_account(client)
    agent = open_person(client)
    register_unit(
        client, agent.token, make_uscc(), authorization_letter_id=upload_pdf(client, agent.token)
    )

    assert_problem(client.get(f"/v1/units/{other.uscc}", headers=agent.headers), 404)

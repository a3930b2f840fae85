"""Uploads out of the event log, through HTTP: the log keeps the hash, the blob store the
bytes; `psvs-ledger attachments collect` removes what nothing referenced in time; per-account
upload quotas (count and bytes per day), the per-address upload rate, the per-address daily
sign-up limit shared by workers, and the sign-up verifier hook."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator, Mapping
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi.testclient import TestClient

from api.cli.attachments import add_attachment_commands
from api.core.runtime import Runtime
from api.core.settings import Settings
from ledger.values import Role
from tests.support.codes import NANAN
from tests.support.http import (
    assert_problem,
    client_with,
    file_system,
    filing_body,
    names_field,
    pdf_of_size,
    police_token,
    unit_account,
    upload,
    upload_pdf,
)
from tests.support.postgres import sql_rows

PERSON = {"kind": "person", "name": "王五", "phone": "13800138000"}


def _collect(settings: Settings, capsys: pytest.CaptureFixture[str], *flags: str) -> Any:
    top = argparse.ArgumentParser()
    add_attachment_commands(top.add_subparsers(dest="command", required=True))
    args = top.parse_args(["attachments", "collect", "--json", *flags])
    capsys.readouterr()
    assert args.handler(args, settings) == 0
    return json.loads(capsys.readouterr().out)


def test_a_filing_with_a_scanned_form_keeps_its_bytes_out_of_the_log(
    client: TestClient, runtime: Runtime, settings: Settings
) -> None:
    officer = police_token(runtime, Role.OFFICER, NANAN)
    owner = unit_account(client)
    scan = pdf_of_size(100 * 1024)
    before = runtime.head()

    form = upload_pdf(client, officer, scan)
    response = file_system(client, officer, filing_body(owner.uscc, paper_form_id=form))

    assert response.status_code == 201, response.text
    assert runtime.ledger.get_attachment(UUID(form)).content == scan  # as callers read it
    url = str(settings.database_url)
    [(log_bytes,)] = sql_rows(
        url, "SELECT sum(octet_length(state)) FROM ledger_events WHERE notification_id > %s", before
    )
    assert log_bytes < len(scan) / 5
    assert sql_rows(url, "SELECT size FROM attachment_blobs WHERE size = %s", len(scan)) == [
        (len(scan),)
    ]


def test_collect_removes_only_unreferenced_old_uploads_and_a_collected_one_is_refused(
    client: TestClient, runtime: Runtime, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    officer = police_token(runtime, Role.OFFICER, NANAN)
    owner = unit_account(client)
    form = upload_pdf(client, officer, pdf_of_size(2000))
    assert file_system(client, officer, filing_body(owner.uscc, paper_form_id=form)).is_success
    stray = upload_pdf(client, officer, pdf_of_size(3000))
    url = str(settings.database_url)
    # the form and the stray upload as if 31 days old (not the officer's business licence for
    # the unit's account: no event names it, see tests/integration/test_blob_store.py)
    sql_rows(
        url,
        "UPDATE attachment_blobs SET last_uploaded_at = now() - interval '31 days',"
        " last_referenced_at = now() - interval '31 days' WHERE size IN (2000, 3000)",
    )
    blobs_before = sql_rows(url, "SELECT count(*) FROM attachment_blobs")[0][0]

    dry = _collect(settings, capsys, "--dry-run")

    assert dry["would_delete"] == 1 and dry["bytes"] == 3000
    assert sql_rows(url, "SELECT count(*) FROM attachment_blobs")[0][0] == blobs_before

    done = _collect(settings, capsys)

    assert done["deleted"] == 1 and done["hashes"] == dry["hashes"]
    assert sql_rows(url, "SELECT count(*) FROM attachment_blobs")[0][0] == blobs_before - 1
    assert runtime.ledger.get_attachment(UUID(form)).content == pdf_of_size(2000)
    refused = file_system(client, officer, filing_body(owner.uscc, paper_form_id=stray))
    problem = assert_problem(refused, 422)
    assert names_field(problem, "body", "paper_form_id")
    assert "collected" in json.dumps(problem, ensure_ascii=False)
    assert _collect(settings, capsys)["deleted"] == 0  # nothing more to take


@pytest.fixture
def quota(settings: Settings, runtime: Runtime) -> Iterator[TestClient]:
    with client_with(settings, runtime, uploads_per_day=3, upload_bytes_per_day=250_000) as client:
        yield client


def test_an_account_over_its_daily_upload_count_gets_429_with_retry_after(
    quota: TestClient, runtime: Runtime
) -> None:
    first = police_token(runtime, Role.OFFICER, NANAN)
    other = police_token(runtime, Role.OFFICER, NANAN, name="另一位")
    statuses = [upload(quota, first).status_code for _ in range(3)]
    head = runtime.head()

    refused = upload(quota, first)

    assert statuses == [201, 201, 201]
    problem = assert_problem(refused, 429)
    assert "3 uploads" in problem["detail"]
    assert 86_000 < int(refused.headers["retry-after"]) <= 86_400
    assert runtime.head() == head  # nothing written
    assert upload(quota, other).status_code == 201  # per account


def test_an_account_over_its_daily_upload_bytes_gets_429(
    quota: TestClient, runtime: Runtime
) -> None:
    token = police_token(runtime, Role.OFFICER, NANAN)
    assert upload(quota, token, pdf_of_size(100_000)).status_code == 201
    assert upload(quota, token, pdf_of_size(100_000)).status_code == 201

    refused = upload(quota, token, pdf_of_size(60_000))

    problem = assert_problem(refused, 429)
    assert "250000 bytes" in problem["detail"]
    assert int(refused.headers["retry-after"]) >= 1
    assert upload(quota, token, pdf_of_size(40_000)).status_code == 201  # it still fits


def test_uploads_are_rate_limited_per_address(settings: Settings, runtime: Runtime) -> None:
    with client_with(settings, runtime, upload_burst=2, upload_rate_per_minute=0.5) as client:
        tokens = [police_token(runtime, Role.OFFICER, NANAN, name=f"警官{n}") for n in range(3)]
        statuses = [upload(client, token).status_code for token in tokens]

    assert statuses == [201, 201, 429]


def test_signups_per_address_per_day_are_shared_by_workers(
    settings: Settings, runtime: Runtime
) -> None:
    limited = {"accounts_per_address_per_day": 2}
    with (
        client_with(settings, runtime, **limited) as one,
        client_with(settings, runtime, **limited) as two,
    ):
        assert one.post("/v1/accounts", json={**PERSON, "phone": "1"}).status_code == 422
        assert one.post("/v1/accounts", json=PERSON).status_code == 201  # a failure did not count
        assert two.post("/v1/accounts", json=PERSON).status_code == 201

        refused = one.post("/v1/accounts", json=PERSON)
        again = two.post("/v1/accounts", json=PERSON)

    problem = assert_problem(refused, 429)
    assert "2 accounts a day" in problem["detail"]
    assert 86_000 < int(refused.headers["retry-after"]) <= 86_400
    assert again.status_code == 429  # the other process sees the same count


def need_proof(address: str, headers: Mapping[str, str]) -> str | None:
    """A stand-in verifier (LEDGER_SIGNUP_VERIFIER=tests.e2e.test_attachments_store:need_proof)."""
    return None if headers.get("x-signup-proof") == "solved" else "no proof of work"


def test_a_configured_signup_verifier_must_accept_each_signup(
    settings: Settings, runtime: Runtime
) -> None:
    verifier = "tests.e2e.test_attachments_store:need_proof"
    with client_with(settings, runtime, signup_verifier=verifier) as client:
        refused = client.post("/v1/accounts", json=PERSON)
        accepted = client.post("/v1/accounts", json=PERSON, headers={"X-Signup-Proof": "solved"})

    problem = assert_problem(refused, 403)
    assert "no proof of work" in problem["detail"]
    assert accepted.status_code == 201


def test_the_429_of_a_quota_is_a_problem_document(quota: TestClient, runtime: Runtime) -> None:
    token = police_token(runtime, Role.OFFICER, NANAN)
    for _ in range(3):
        upload(quota, token)
    refused: httpx.Response = upload(quota, token)
    assert refused.headers["content-type"] == "application/problem+json"

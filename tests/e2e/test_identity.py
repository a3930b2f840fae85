"""Identity you can trust (docs/identity.md): the impostor, squatting, revocation and
district-move scenarios, each through HTTP on a real PostgreSQL. Logout and throttling are in
tests/e2e/test_officer_sessions.py and tests/e2e/test_throttle.py; the same principals against
every route in tests/e2e/test_authorisation_matrix.py; across `serve --workers` processes in
tests/e2e/test_revocation_across_workers.py."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from api.core.runtime import Runtime
from api.identity.tokens import CACHE_SECONDS, new_token, token_hash
from ledger.accounts import Account, Credential
from ledger.values import Role
from tests.support import http as h
from tests.support.http import police_token

# --- impostors ---------------------------------------------------------------------------------


def _unit_with_system(client: TestClient) -> tuple[h.UnitAccount, str]:
    owner = h.unit_account(client)
    filed = h.filed(client, owner)
    assert filed.status_code == 201, filed.text
    return owner, str(filed.json()["system_id"])


def test_self_signup_naming_a_registered_units_uscc_is_refused_and_writes_nothing(
    client: TestClient, runtime: Runtime
) -> None:
    owner, _ = _unit_with_system(client)
    before = runtime.head()

    for body in (
        {"kind": "legal_person", "name": "冒名", "phone": "13800138000", "uscc": owner.uscc},
        {"kind": "person", "name": "冒名", "phone": "13800138000", "uscc": owner.uscc},
    ):
        response = client.post("/v1/accounts", json=body)
        problem = h.assert_problem(response, 422)
        assert ["body", "uscc"] in h.error_locs(problem), problem
    assert runtime.head() == before


def test_an_account_that_only_claimed_a_uscc_reaches_nothing_of_that_unit(
    client: TestClient, runtime: Runtime
) -> None:
    """The attack of before: a legal-person account naming a public USCC. One left in the log by
    an older version (its USCC never checked) must reach nothing."""
    owner, system_id = _unit_with_system(client)
    token, digest = new_token()
    claimant = Account.open(role=Role.LEGAL_PERSON, name="冒名公司", uscc=owner.uscc)
    runtime.ledger.save(
        claimant, Credential.issue(token_sha256=digest, account_id=claimant.id, expires_at=None)
    )
    headers = h.auth(token)

    assert client.get(f"/v1/units/{owner.uscc}", headers=headers).status_code == 404
    assert client.get(f"/v1/systems/{system_id}", headers=headers).status_code == 404
    assert client.get(f"/v1/systems/{system_id}/history", headers=headers).status_code == 404
    assert client.get("/v1/systems", headers=headers).json()["items"] == []
    audit = client.get("/v1/audit", headers=headers).json()["items"]
    assert [i["type"] for i in audit] == ["account_opened"]  # its own opening only
    assert system_id not in client.get("/v1/feed", headers=headers).text
    etag = client.get(f"/v1/systems/{system_id}", headers=h.auth(owner.token)).headers["etag"]
    change = h.change(client, token, system_id, h.change_body(name="改名"), etag)
    assert change.status_code == 404
    assert h.cancel(client, token, system_id, etag).status_code == 404
    assert h.file_system(client, token, h.filing_body(owner.uscc)).status_code == 404
    person = h.open_person(client)
    letter = h.upload_pdf(client, token)
    agent = client.post(f"/v1/units/{owner.uscc}/agents", headers=headers,
                        json={"authorization_letter_id": letter,
                              "account_id": person.account_id})  # fmt: skip
    assert agent.status_code == 404
    me = client.get("/v1/accounts/me", headers=headers).json()
    assert me["uscc"] is None and me["agent_of"] == []


def test_a_version_1_account_event_with_a_claimed_uscc_is_read_as_bound_to_nothing() -> None:
    state: dict[str, Any] = {"role": "legal_person", "uscc": "91500108MA00000014"}
    Account.Opened.upcast_v1_v2(state)
    assert state["bound_by"] is None


def test_only_an_officer_of_the_units_district_opens_its_legal_person_account(
    client: TestClient, runtime: Runtime
) -> None:
    uscc = h.make_uscc(h.NANAN)
    body = {"name": "某公司", "phone": "13800138000"}
    nanan = police_token(runtime, Role.OFFICER, h.NANAN)
    shapingba = police_token(runtime, Role.OFFICER, h.SHAPINGBA)
    person = h.open_person(client)
    url = f"/v1/units/{uscc}/legal-person-accounts"

    def attempt(token: str, **extra: Any) -> int:
        licence = h.upload_pdf(client, token)
        json = {**body, "business_licence_id": licence, **extra}
        return client.post(url, json=json, headers=h.auth(token)).status_code

    assert attempt(shapingba) == 404  # another district: no such unit there
    assert attempt(person.token) == 403
    assert attempt(police_token(runtime, Role.ADMIN, None)) == 403
    someone_elses = h.upload_pdf(client, shapingba)
    missing = client.post(url, json={**body, "business_licence_id": someone_elses},
                          headers=h.auth(nanan))  # fmt: skip
    assert ["body", "business_licence_id"] in h.error_locs(h.assert_problem(missing, 422))
    opened = client.post(url, json={**body, "business_licence_id": h.upload_pdf(client, nanan)},
                         headers=h.auth(nanan))  # fmt: skip
    assert opened.status_code == 201, opened.text
    me = client.get("/v1/accounts/me", headers=h.auth(opened.json()["token"])).json()
    assert (me["role"], me["uscc"]) == ("legal_person", uscc)


# --- squatting: a registration by an agent is pending ------------------------------------------


def _squat(client: TestClient) -> tuple[h.UnitAccount, str, str]:
    """A person registers a unit not yet registered, on any PDF as its 'letter', and files."""
    squatter = h.open_person(client, "抢注者")
    uscc = h.make_uscc(h.NANAN)
    body = h.unit_body(uscc, authorization_letter_id=h.upload_pdf(client, squatter.token))
    registered = client.post("/v1/units", json=body, headers=squatter.headers)
    assert registered.status_code == 201, registered.text
    assert registered.json()["verification"] == "pending"
    filed = h.file_system(client, squatter.token, h.filing_body(uscc))
    assert filed.status_code == 201, filed.text  # the duty to file cannot wait
    assert filed.json()["unit_verification"] == "pending"
    return squatter, uscc, str(filed.json()["system_id"])


def test_an_officer_rejects_a_squatted_registration_and_the_squatter_loses_the_unit(
    client: TestClient, runtime: Runtime
) -> None:
    squatter, uscc, system_id = _squat(client)
    officer = police_token(runtime, Role.OFFICER, h.NANAN)
    other = police_token(runtime, Role.OFFICER, h.SHAPINGBA)

    pending = client.get("/v1/units", params={"verification": "pending"}, headers=h.auth(officer))
    assert [u["uscc"] for u in pending.json()["items"]] == [uscc]
    assert client.get("/v1/units", params={"verification": "pending"},
                      headers=h.auth(other)).json()["items"] == []  # fmt: skip
    by_squatter = client.post(f"/v1/units/{uscc}/verification", headers=squatter.headers,
                              json={"decision": "confirmed", "note": ""})  # fmt: skip
    assert by_squatter.status_code == 403  # an agent never confirms itself
    assert client.post(f"/v1/units/{uscc}/verification", headers=h.auth(other),
                       json={"decision": "rejected", "note": ""}).status_code == 404  # fmt: skip

    rejected = client.post(f"/v1/units/{uscc}/verification", headers=h.auth(officer),
                           json={"decision": "rejected", "note": "授权书不实"})  # fmt: skip

    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["verification"] == "rejected" and rejected.json()["agent_count"] == 0
    time.sleep(CACHE_SECONDS + 0.1)
    assert client.get(f"/v1/units/{uscc}", headers=squatter.headers).status_code == 404
    assert client.get(f"/v1/systems/{system_id}", headers=squatter.headers).status_code == 404
    assert h.file_system(client, squatter.token, h.filing_body(uscc)).status_code == 404
    # Nothing is deleted: the filing and its history stay, for the district's officers.
    history = client.get(f"/v1/systems/{system_id}/history", headers=h.auth(officer))
    assert [i["type"] for i in history.json()["items"]] == ["filed"]
    audit = client.get("/v1/audit", params={"unit_uscc": uscc}, headers=h.auth(officer))
    assert [i["type"] for i in audit.json()["items"]] == [
        "unit_registered", "filed", "verification_decided",
    ]  # fmt: skip
    again = client.post(f"/v1/units/{uscc}/verification", headers=h.auth(officer),
                        json={"decision": "confirmed", "note": ""})  # fmt: skip
    assert again.status_code == 409
    # The unit's real legal person, opened at the window, takes the unit and its filing over.
    legal = h.open_legal_person(client, uscc)
    assert client.get(f"/v1/systems/{system_id}", headers=legal.headers).status_code == 200
    assert h.register_unit(client, legal.token, uscc).status_code == 409  # already registered


def test_the_legal_person_confirms_or_takes_the_unit_over_from_an_agent(
    client: TestClient,
) -> None:
    squatter, uscc, system_id = _squat(client)
    legal = h.open_legal_person(client, uscc)

    confirmed = client.post(f"/v1/units/{uscc}/verification", headers=legal.headers,
                            json={"decision": "confirmed", "note": "是我司委托"})  # fmt: skip
    assert confirmed.status_code == 200 and confirmed.json()["verification"] == "confirmed"
    assert client.get(f"/v1/systems/{system_id}", headers=squatter.headers).status_code == 200

    removed = client.delete(f"/v1/units/{uscc}/agents/{squatter.account_id}",
                            headers=legal.headers)  # fmt: skip
    assert removed.status_code == 200, removed.text
    time.sleep(CACHE_SECONDS + 0.1)
    assert client.get(f"/v1/systems/{system_id}", headers=squatter.headers).status_code == 404
    assert client.get("/v1/systems", headers=squatter.headers).json()["items"] == []
    assert client.delete(f"/v1/units/{uscc}/agents/{squatter.account_id}",
                         headers=legal.headers).status_code == 404  # fmt: skip


# --- credentials: expiry, rotation, revocation, disabling --------------------------------------


def test_a_rotated_token_is_refused_at_once_and_the_new_one_works(client: TestClient) -> None:
    owner = h.unit_account(client)
    assert client.get("/v1/accounts/me", headers=owner.headers).status_code == 200

    rotated = client.post("/v1/accounts/me/token", headers=owner.headers)

    assert rotated.status_code == 201, rotated.text
    new = rotated.json()["token"]
    assert new != owner.token and rotated.json()["account_id"] == owner.account_id
    old = client.get("/v1/accounts/me", headers=owner.headers)
    assert old.status_code == 401 and "revoked" in old.json()["detail"]
    assert client.get(f"/v1/units/{owner.uscc}", headers=h.auth(new)).status_code == 200


def test_tokens_expire_police_in_90_days_and_units_in_a_year(
    client: TestClient, runtime: Runtime
) -> None:
    officer = police_token(runtime, Role.OFFICER, h.NANAN)
    unit = h.unit_account(client)
    now = datetime.now(UTC)
    for token, days in ((officer, 90), (unit.token, 365)):
        me = client.get("/v1/accounts/me", headers=h.auth(token)).json()
        left = datetime.fromisoformat(me["token_expires_at"]) - now
        assert timedelta(days=days) - timedelta(minutes=5) < left <= timedelta(days=days)

    expired, digest = new_token()
    runtime.ledger.open_account(
        token_sha256=digest, role=Role.OFFICER, name="过期", division_code=h.NANAN,
        today=h.today(), token_expires_at=now - timedelta(seconds=1),
    )  # fmt: skip
    refused = client.get("/v1/systems", headers=h.auth(expired))
    assert refused.status_code == 401 and "expired" in refused.json()["detail"]


def test_a_revoked_token_and_a_disabled_account_are_refused_within_a_second(
    client: TestClient, runtime: Runtime
) -> None:
    officer = police_token(runtime, Role.OFFICER, h.NANAN)
    assert client.get("/v1/systems", headers=h.auth(officer)).status_code == 200  # cached now

    runtime.ledger.revoke_token(token_sha256=token_hash(officer), reason="离职")
    time.sleep(CACHE_SECONDS + 0.1)
    refused = client.get("/v1/systems", headers=h.auth(officer))
    assert refused.status_code == 401 and "revoked" in refused.json()["detail"]

    unit = h.unit_account(client)
    assert client.get("/v1/systems", headers=unit.headers).status_code == 200
    account_id = UUID(unit.account_id)
    runtime.ledger.set_account_enabled(account_id=account_id, enabled=False, reason="停用")
    time.sleep(CACHE_SECONDS + 0.1)
    disabled = client.get("/v1/systems", headers=unit.headers)
    assert disabled.status_code == 401 and "disabled" in disabled.json()["detail"]
    runtime.ledger.set_account_enabled(account_id=account_id, enabled=True, reason="恢复")
    time.sleep(CACHE_SECONDS + 0.1)
    assert client.get("/v1/systems", headers=unit.headers).status_code == 200

    runtime.ledger.revoke_tokens(account_id=account_id, reason="全部吊销")
    time.sleep(CACHE_SECONDS + 0.1)
    assert client.get("/v1/systems", headers=unit.headers).status_code == 401


def test_rotating_a_token_logs_a_security_event_without_the_token(
    client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    owner = h.unit_account(client)
    capsys.readouterr()

    new = client.post("/v1/accounts/me/token", headers=owner.headers).json()["token"]
    client.get("/v1/accounts/me", headers=owner.headers)  # the old token: refused

    logs = capsys.readouterr().err
    assert '"event": "token_rotated"' in logs and owner.account_id in logs
    assert '"kind": "bearer_token"' in logs  # the refusal, as a security event
    assert owner.token not in logs and new not in logs


# --- districts stay put ------------------------------------------------------------------------


def test_a_unit_cannot_move_its_system_to_another_district(
    client: TestClient, runtime: Runtime
) -> None:
    owner, system_id = _unit_with_system(client)
    etag = client.get(f"/v1/systems/{system_id}", headers=owner.headers).headers["etag"]
    before = runtime.head()

    moved = h.change(client, owner.token, system_id, h.change_body(division_code=h.SHAPINGBA), etag)

    problem = h.assert_problem(moved, 422)
    assert ["body", "changes", "division_code"] in h.error_locs(problem)
    assert runtime.head() == before
    by_move = client.post(f"/v1/systems/{system_id}/move", headers={**owner.headers,
                          "If-Match": etag}, json={"division_code": h.SHAPINGBA,
                          "reason": "迁址"})  # fmt: skip
    assert by_move.status_code == 403


def test_an_officers_move_is_its_own_event_and_both_districts_see_the_history_up_to_it(
    client: TestClient, runtime: Runtime
) -> None:
    owner, system_id = _unit_with_system(client)
    nanan = h.auth(police_token(runtime, Role.OFFICER, h.NANAN))
    shapingba = h.auth(police_token(runtime, Role.OFFICER, h.SHAPINGBA))
    etag = client.get(f"/v1/systems/{system_id}", headers=nanan).headers["etag"]
    assert client.get(f"/v1/systems/{system_id}", headers=shapingba).status_code == 404
    wrong = client.post(f"/v1/systems/{system_id}/move", headers={**shapingba, "If-Match": etag},
                        json={"division_code": h.SHAPINGBA, "reason": "迁址"})  # fmt: skip
    assert wrong.status_code == 404

    moved = client.post(f"/v1/systems/{system_id}/move", headers={**nanan, "If-Match": etag},
                        json={"division_code": h.SHAPINGBA, "reason": "辖区调整"})  # fmt: skip

    assert moved.status_code == 200, moved.text
    assert moved.json()["division_code"] == h.SHAPINGBA
    stale = client.post(f"/v1/systems/{system_id}/move", headers={**nanan, "If-Match": etag},
                        json={"division_code": h.NANAN, "reason": "再迁"})  # fmt: skip
    assert stale.status_code == 404  # no longer the Nanan officer's system
    # After the move a change lands in Shapingba only.
    new_etag = moved.headers["etag"]
    renamed = h.change(client, owner.token, system_id, h.change_body(name="迁后改名"), new_etag)
    assert renamed.status_code == 200, renamed.text
    assert client.get(f"/v1/systems/{system_id}", headers=nanan).status_code == 404
    history = client.get(f"/v1/systems/{system_id}/history", headers=shapingba).json()["items"]
    assert [i["type"] for i in history] == ["filed", "moved", "changed"]
    assert history[1]["actor"]["role"] == "officer"
    assert history[1]["diff"] == {"division_code": {"old": h.NANAN, "new": h.SHAPINGBA}}
    nanan_audit = client.get("/v1/audit", params={"system_id": system_id}, headers=nanan)
    assert [i["type"] for i in nanan_audit.json()["items"]] == ["filed", "moved"]
    overdue = client.get("/v1/overdue", params={"kind": "change_late"}, headers=shapingba)
    assert overdue.status_code == 200
    assert all(i["system_id"] != system_id for i in overdue.json()["items"])


def test_the_command_line_lists_disables_and_revokes_accounts(
    client: TestClient,
    runtime: Runtime,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import io

    from api.cli import main as cli

    settings = client.app.state.settings  # type: ignore[attr-defined]
    monkeypatch.setenv("LEDGER_DATABASE_URL", str(settings.database_url))
    monkeypatch.setenv("LEDGER_DATA_DIR", str(settings.data_dir))
    unit = h.unit_account(client)
    officer = police_token(runtime, Role.OFFICER, h.NANAN)
    assert officer.startswith("psvs_")  # never "-...", which a command line reads as an option

    assert cli.main(["accounts", "disable", unit.account_id, "--reason", "调离"]) == 0
    assert cli.main(["accounts", "list", "--role", "legal_person"]) == 0
    listed = capsys.readouterr().out
    assert f"{unit.account_id}\tlegal_person\tdisabled\t{unit.uscc}" in listed
    monkeypatch.setattr("sys.stdin", io.StringIO(officer + "\n"))
    assert cli.main(["accounts", "revoke-token", "--token=-", "--reason", "泄露"]) == 0
    assert cli.main(["accounts", "revoke-token"]) == 2  # neither --token nor --account
    bad = cli.main(["accounts", "create", "--role", "legal_person", "--name", "某公司"])
    assert bad == 2  # a legal-person account needs its USCC

    time.sleep(CACHE_SECONDS + 0.1)
    assert client.get("/v1/systems", headers=unit.headers).status_code == 401
    assert client.get("/v1/systems", headers=h.auth(officer)).status_code == 401
    assert cli.main(["accounts", "enable", unit.account_id]) == 0
    time.sleep(CACHE_SECONDS + 0.1)
    assert client.get("/v1/systems", headers=unit.headers).status_code == 200


def test_an_officer_confirms_a_pending_unit_in_the_pages(
    client: TestClient, runtime: Runtime
) -> None:
    from tests.e2e.test_authorisation_pages import _sign_in

    squatter, uscc, _system_id = _squat(client)
    pages = TestClient(client.app, follow_redirects=False)
    status, csrf = _sign_in(pages, police_token(runtime, Role.OFFICER, h.NANAN))
    assert status == 303

    dashboard = pages.get("/officer/")
    assert dashboard.status_code == 200 and f"/officer/units/{uscc}" in dashboard.text
    unit_page = pages.get(f"/officer/units/{uscc}")
    assert "待核验" in unit_page.text and 'id="verification-form"' in unit_page.text
    forged = pages.post(f"/officer/units/{uscc}/verification",
                        data={"csrf_token": "forged", "decision": "confirmed"})  # fmt: skip
    assert forged.status_code == 403
    form = {"csrf_token": csrf, "decision": "confirmed", "note": "已核对"}
    done = pages.post(f"/officer/units/{uscc}/verification", data=form)

    assert done.status_code == 303, done.text
    assert client.get(f"/v1/units/{uscc}", headers=squatter.headers).json()["verification"] == (
        "confirmed"
    )
    after = pages.get(f"/officer/units/{uscc}")
    assert "已核验" in after.text and 'id="verification-form"' not in after.text
    assert 'id="no-pending-units"' in pages.get("/officer/").text


def test_an_upgrade_relinks_agents_recorded_only_on_their_unit(
    client: TestClient, runtime: Runtime
) -> None:
    """A log written before accounts recorded their units holds an agent only in the unit's
    `AgentAuthorised`: that agent reaches nothing until `accounts relink-agents` runs."""
    from ledger.values import Actor, Channel

    owner, system_id = _unit_with_system(client)
    person = h.open_person(client)
    unit = runtime.ledger.find_unit(owner.uscc)
    assert unit is not None
    letter = UUID(h.upload_pdf(client, owner.token))
    actor = Actor(account_id=owner.account_id, role=Role.LEGAL_PERSON, name="法人",
                  on_behalf_of=owner.uscc)  # fmt: skip
    unit.authorise_agent(account_id=person.account_id, authorization_letter_id=letter,
                         actor=actor, channel=Channel.ONLINE, effective_on=h.today())  # fmt: skip
    runtime.ledger.save(unit)  # as the old command did: the unit's side only
    assert client.get(f"/v1/systems/{system_id}", headers=person.headers).status_code == 404

    assert runtime.ledger.relink_agents() == 1
    assert runtime.ledger.relink_agents() == 0  # idempotent
    time.sleep(CACHE_SECONDS + 0.1)
    assert client.get(f"/v1/systems/{system_id}", headers=person.headers).status_code == 200

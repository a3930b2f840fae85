"""Every route of the app, called by every role, against its own and a foreign object.

The routes are read from `app.routes`, so a route added without an entry in `CASES` fails
`test_every_route_has_an_entry`. Two units: A (南岸区 500108) and B (沙坪坝区 500106), each
with a system filed online. Who sees which (docs/contract.md): a unit its own; an officer
its district; an auditor its prefix (`500108` sees A, `5101` sees neither); an admin both.
The rules: no token is 401 on every /v1 route but `POST /v1/accounts`; out of scope is 404
as if absent; in scope but not the caller's to do is 403.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.core.runtime import Runtime
from api.core.settings import Settings
from api.identity.tokens import new_token, token_hash
from ledger.accounts import Account, Credential
from ledger.values import Role
from tests.support import http as h
from tests.support.http import app_routes, police_token

A, B = "A", "B"
MARK = {A: "MARK-A-7f3c", B: "MARK-B-91d2"}  # in each object's addresses, to spot leaks
DIVISION = {A: h.NANAN, B: h.SHAPINGBA}
# The principals: each unit's legal-person account (opened at the window), an officer of each
# district, auditors (a district's prefix, a city's, another province's), an admin, nobody;
# and the impostors: a legal-person account that only claimed A's USCC (as self-signup once
# allowed), a person removed as A's agent, A's agent whose account is disabled, an officer
# with no district, and tokens that expired, were rotated away and were revoked.
ROLES = (
    "unit_a", "unit_b", "officer_a", "officer_b", "auditor_a", "auditor_cq", "auditor_x",
    "admin", "anonymous", "claimant_a", "removed_agent", "disabled_agent", "officer_none",
    "expired", "rotated", "revoked",
)  # fmt: skip
SEES = {
    "unit_a": {A}, "unit_b": {B}, "officer_a": {A}, "officer_b": {B},
    "auditor_a": {A}, "auditor_cq": {A, B}, "auditor_x": set(), "admin": {A, B},
    "anonymous": set(), "claimant_a": set(), "removed_agent": set(), "disabled_agent": set(),
    "officer_none": set(), "expired": set(), "rotated": set(), "revoked": set(),
}  # fmt: skip
UNIT_SIDE = {"unit_a", "unit_b", "claimant_a", "removed_agent"}
OFFICERS = {"officer_a", "officer_b", "officer_none"}
READERS = {"auditor_a", "auditor_cq", "auditor_x", "admin"}
# Tokens that no longer let anyone in: 401 on every /v1 route that needs one.
REFUSED = {"disabled_agent", "expired", "rotated", "revoked"}


@dataclass
class World:
    client: TestClient
    tokens: dict[str, str]
    units: dict[str, str]  # object -> USCC
    systems: dict[str, str]  # object -> system_id
    owners: dict[str, str] = field(default_factory=dict)  # object -> owner's token
    rotating: str | None = None  # the principal whose token the current call rotates

    def headers(self, role: str) -> dict[str, str]:
        return {} if role == "anonymous" else h.auth(self.tokens[role])

    def attachment(self, role: str) -> str:
        usable = role not in REFUSED and role in self.tokens
        token = self.tokens[role] if usable else self.tokens["admin"]
        return h.upload_pdf(self.client, token)

    def filing(self, role: str, obj: str) -> dict[str, Any]:
        division = DIVISION[obj]
        devices = [h.device(i, device_id=h.make_device_id(i, division)) for i in (1, 2)]
        body = h.filing_body(self.units[obj], division_code=division, address=f"某路 {MARK[obj]}")
        body["devices"] = devices
        if role in OFFICERS:
            body["paper_form_id"] = self.attachment(role)
        return body

    def fresh_system(self, obj: str) -> str:
        response = self.client.post(
            "/v1/systems", json=self.filing("owner", obj), headers=h.auth(self.owners[obj])
        )
        assert response.status_code == 201, response.text
        return str(response.json()["system_id"])

    def etag(self, system_id: str) -> str:
        return self.client.get(
            f"/v1/systems/{system_id}", headers=h.auth(self.tokens["admin"])
        ).headers["etag"]


Call = tuple[str, str, dict[str, Any]]  # method, url, httpx keyword arguments
Build = Callable[[World, str, str], Call]
Expect = Callable[[str, str], int]


@dataclass(frozen=True)
class Case:
    build: Build
    expect: Expect
    objects: tuple[str, ...] = (A, B)


def seen(ok: int) -> Expect:
    """`ok` for whoever sees the object, 404 for everyone else with a token."""
    return lambda role, obj: ok if obj in SEES[role] else 404


def officers_write(ok: int) -> Expect:
    """An officer of the district writes; others who see it are forbidden."""
    return lambda role, obj: 404 if obj not in SEES[role] else ok if role in OFFICERS else 403


def units_write(role: str, obj: str) -> int:
    """Changes and cancellations of an online filing: its unit; an officer is in the wrong
    channel (409); an auditor or admin only reads (403)."""
    if obj not in SEES[role]:
        return 404
    return 200 if role in UNIT_SIDE else 409 if role in OFFICERS else 403


def everyone(ok: int) -> Expect:
    return lambda role, obj: ok


def get(path: str) -> Build:
    return lambda world, role, obj: ("GET", path, {})


def _change(world: World, role: str, obj: str) -> Call:
    system_id = world.systems[obj]
    body = h.change_body(name=f"改名 {role}")
    return "POST", f"/v1/systems/{system_id}/changes", {
        "json": body, "headers": {"If-Match": world.etag(system_id)},
    }  # fmt: skip


def _cancel(world: World, role: str, obj: str) -> Call:
    system_id = world.fresh_system(obj)
    body = {"effective_on": h.today().isoformat(), "reason": "系统停止使用"}
    return "POST", f"/v1/systems/{system_id}/cancellation", {
        "json": body, "headers": {"If-Match": world.etag(system_id)},
    }  # fmt: skip


def _register_unit(world: World, role: str, obj: str) -> Call:
    body = h.unit_body(h.make_uscc(DIVISION[obj]), division_code=DIVISION[obj])
    body["authorization_letter_id"] = world.attachment(role)
    return "POST", "/v1/units", {"json": body}


def _add_agent(world: World, role: str, obj: str) -> Call:
    person = h.open_person(world.client)
    body = {"authorization_letter_id": world.attachment(role), "account_id": person.account_id}
    return "POST", f"/v1/units/{world.units[obj]}/agents", {"json": body}


def _rotate(world: World, role: str, obj: str) -> Call:
    world.rotating = role
    return "POST", "/v1/accounts/me/token", {}


def _new_agent(world: World, obj: str) -> str:
    """A person made an agent of the unit by its legal-person account; its account id."""
    person = h.open_person(world.client)
    owner = world.owners[obj]
    body = {"authorization_letter_id": h.upload_pdf(world.client, owner),
            "account_id": person.account_id}  # fmt: skip
    added = world.client.post(f"/v1/units/{world.units[obj]}/agents", json=body,
                              headers=h.auth(owner))  # fmt: skip
    assert added.status_code == 201, added.text
    return person.account_id


def _remove_agent(world: World, role: str, obj: str) -> Call:
    agent = _new_agent(world, obj)
    return "DELETE", f"/v1/units/{world.units[obj]}/agents/{agent}", {}


def _pending_unit(world: World, obj: str) -> str:
    person = h.open_person(world.client)
    uscc = h.make_uscc(DIVISION[obj])
    body = h.unit_body(uscc, division_code=DIVISION[obj])
    body["authorization_letter_id"] = h.upload_pdf(world.client, person.token)
    made = world.client.post("/v1/units", json=body, headers=person.headers)
    assert made.status_code == 201 and made.json()["verification"] == "pending", made.text
    return uscc


def _verify(world: World, role: str, obj: str) -> Call:
    uscc = _pending_unit(world, obj)
    return "POST", f"/v1/units/{uscc}/verification", {
        "json": {"decision": "confirmed", "note": "盖章授权书已核验"},
    }  # fmt: skip


def _legal_person_account(world: World, role: str, obj: str) -> Call:
    body = {"name": "某公司", "phone": "13800138000",
            "business_licence_id": world.attachment(role)}  # fmt: skip
    return "POST", f"/v1/units/{h.make_uscc(DIVISION[obj])}/legal-person-accounts", {"json": body}


def _move(world: World, role: str, obj: str) -> Call:
    system_id = world.fresh_system(obj)
    other = DIVISION[B if obj == A else A]
    return "POST", f"/v1/systems/{system_id}/move", {
        "json": {"division_code": other, "reason": "辖区调整"},
        "headers": {"If-Match": world.etag(system_id)},
    }  # fmt: skip


def _discovery(world: World, role: str, obj: str) -> Call:
    body = {
        "name": "未备案的停车场监控", "address": "某路1号", "division_code": DIVISION[obj],
        "place_category": 2, "place_type": "public_car_park",
        "commissioned_on": (h.today() - timedelta(days=60)).isoformat(), "note": "巡查发现",
    }  # fmt: skip
    return "POST", "/v1/discoveries", {"json": body}


def _on_system(suffix: str, body: dict[str, Any]) -> Build:
    return lambda world, role, obj: (
        "POST", f"/v1/systems/{world.systems[obj]}/{suffix}", {"json": body},
    )  # fmt: skip


def _registering(role: str, obj: str) -> int:
    if role == "removed_agent":  # a person may register a new unit on a letter: pending
        return 201
    if role in UNIT_SIDE:  # legal persons: "acts for its own unit only" is a bad field
        return 422
    if role in OFFICERS:  # a district that is not the officer's is a bad field, not a scope
        return 201 if obj in SEES[role] else 422
    return 403


CASES: dict[tuple[str, str], Case] = {
    ("POST", "/v1/accounts"): Case(
        lambda w, r, o: (
            "POST",
            "/v1/accounts",
            {"json": {"kind": "person", "name": "王五", "phone": "13912345678"}},
        ),
        everyone(201),
        objects=("-",),
    ),
    ("POST", "/v1/attachments"): Case(
        lambda w, r, o: (
            "POST",
            "/v1/attachments",
            {"files": {"file": ("a.pdf", h.PDF, "application/pdf")}},
        ),
        everyone(201),
        objects=("-",),
    ),
    ("POST", "/v1/units"): Case(_register_unit, _registering),
    ("GET", "/v1/units"): Case(get("/v1/units"), everyone(200), objects=("-",)),
    ("GET", "/v1/accounts/me"): Case(get("/v1/accounts/me"), everyone(200), objects=("-",)),
    ("POST", "/v1/accounts/me/token"): Case(_rotate, everyone(201), objects=("-",)),
    ("POST", "/v1/accounts/oidc"): Case(  # no OpenID provider configured here
        lambda w, r, o: ("POST", "/v1/accounts/oidc", {"json": {"id_token": "x.y.z"}}),
        everyone(404),
        objects=("-",),
    ),
    ("DELETE", "/v1/units/{uscc}/agents/{account_id}"): Case(
        _remove_agent,
        lambda role, obj: 404 if obj not in SEES[role] else 403 if role in READERS else 200,
    ),
    ("POST", "/v1/units/{uscc}/verification"): Case(
        _verify,  # a fresh pending unit, registered by a person: no unit account sees it
        lambda role, obj: (
            404 if role in UNIT_SIDE or obj not in SEES[role] else 200 if role in OFFICERS else 403
        ),
    ),
    ("POST", "/v1/units/{uscc}/legal-person-accounts"): Case(
        _legal_person_account,
        lambda role, obj: (
            201 if role in OFFICERS and obj in SEES[role] else 404 if role in OFFICERS else 403
        ),
    ),
    ("POST", "/v1/systems/{system_id}/move"): Case(_move, officers_write(200)),
    ("GET", "/v1/units/{uscc}"): Case(
        lambda w, r, o: ("GET", f"/v1/units/{w.units[o]}", {}), seen(200)
    ),
    ("POST", "/v1/units/{uscc}/agents"): Case(
        _add_agent,
        lambda role, obj: 404 if obj not in SEES[role] else 403 if role in READERS else 201,
    ),
    ("POST", "/v1/systems"): Case(
        lambda w, r, o: ("POST", "/v1/systems", {"json": w.filing(r, o)}),
        lambda role, obj: 403 if role in READERS else 201 if obj in SEES[role] else 404,
    ),
    ("GET", "/v1/systems"): Case(get("/v1/systems"), everyone(200), objects=("-",)),
    ("GET", "/v1/systems/{system_id}"): Case(
        lambda w, r, o: ("GET", f"/v1/systems/{w.systems[o]}", {}), seen(200)
    ),
    ("GET", "/v1/systems/{system_id}/history"): Case(
        lambda w, r, o: ("GET", f"/v1/systems/{w.systems[o]}/history", {}), seen(200)
    ),
    ("POST", "/v1/systems/{system_id}/changes"): Case(_change, units_write),
    ("POST", "/v1/systems/{system_id}/cancellation"): Case(_cancel, units_write),
    ("POST", "/v1/systems/{system_id}/correction-orders"): Case(
        _on_system(
            "correction-orders",
            {"reason": "设备数量不符", "due_on": (h.today() + timedelta(days=15)).isoformat()},
        ),
        officers_write(201),
    ),
    ("POST", "/v1/systems/{system_id}/inspections"): Case(
        _on_system(
            "inspections",
            {"inspected_on": h.today().isoformat(), "result": "consistent", "note": ""},
        ),
        officers_write(201),
    ),
    ("POST", "/v1/discoveries"): Case(
        _discovery, lambda role, obj: 201 if role in OFFICERS and obj in SEES[role] else 403
    ),
    ("GET", "/v1/ledger/verification"): Case(
        get("/v1/ledger/verification"),
        lambda role, obj: 404 if role in UNIT_SIDE else 403 if role in OFFICERS else 200,
        objects=("-",),
    ),
    ("GET", "/v1/audit"): Case(get("/v1/audit"), everyone(200), objects=("-",)),
    ("GET", "/v1/feed"): Case(get("/v1/feed"), everyone(200), objects=("-",)),
    ("GET", "/v1/overdue"): Case(
        get("/v1/overdue"), lambda role, obj: 403 if role in UNIT_SIDE else 200, objects=("-",)
    ),
    ("GET", "/v1/overdue/export"): Case(
        get("/v1/overdue/export?format=csv"),
        lambda role, obj: 403 if role in UNIT_SIDE else 200,
        objects=("-",),
    ),
    ("GET", "/v1/systems/export"): Case(
        get("/v1/systems/export?format=csv"), everyone(200), objects=("-",)
    ),
    ("GET", "/v1/device-sheet-template"): Case(
        get("/v1/device-sheet-template"), everyone(200), objects=("-",)
    ),
    **{
        ("GET", path): Case(get(path), everyone(200), objects=("-",))
        for path in ("/livez", "/readyz", "/metrics", "/openapi.json", "/docs", "/redoc")
    },
    ("GET", "/docs/oauth2-redirect"): Case(
        get("/docs/oauth2-redirect"), everyone(200), objects=("-",)
    ),
    # Swagger UI's and ReDoc's files, served by the app (fastapi-offline).
    ("GET", "/docs/assets/{path}"): Case(
        get("/docs/assets/swagger-ui.css"), everyone(200), objects=("-",)
    ),
}
# Lists whose items must never name a system (or unit) the caller does not see.
SCOPED_LISTS = {
    "/v1/systems", "/v1/audit", "/v1/feed", "/v1/overdue", "/v1/overdue/export",
    "/v1/systems/export", "/v1/units",
}  # fmt: skip


OPEN_ROUTES = {("POST", "/v1/accounts"), ("POST", "/v1/accounts/oidc")}


def expected(key: tuple[str, str], role: str, obj: str) -> int:
    _, path = key
    nobody = role == "anonymous" or role in REFUSED
    if nobody and path.startswith("/v1/") and key not in OPEN_ROUTES:
        return 401
    return CASES[key].expect(role, obj)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """The suite's settings with sign-in throttling and the per-address limits out of the way:
    the matrix sends refused tokens on purpose, hundreds of times, and opens more accounts from
    one address than a minute's burst allows (tests/e2e/test_throttle.py and test_limits.py
    test those)."""
    return Settings(
        database_url=database_url, read_wait_seconds=10, data_dir=tmp_path / "var",
        auth_failure_limit=1_000_000, accounts_per_address_per_day=0, upload_rate_per_minute=0,
        account_rate_per_minute=0,
    )  # fmt: skip


def test_every_route_has_an_entry(client: TestClient) -> None:
    from tests.e2e.test_authorisation_pages import PAGE_ROUTES  # the officer pages' matrix

    assert isinstance(client.app, FastAPI)
    missing = sorted(set(app_routes(client.app)) - set(CASES) - PAGE_ROUTES)
    assert missing == [], f"routes without an entry in the matrix: {missing}"


def world_of(client: TestClient, runtime: Runtime) -> World:
    tokens = {
        "officer_a": police_token(runtime, Role.OFFICER, h.NANAN),
        "officer_b": police_token(runtime, Role.OFFICER, h.SHAPINGBA),
        "auditor_a": police_token(runtime, Role.AUDITOR, h.NANAN),
        "auditor_x": police_token(runtime, Role.AUDITOR, "5101"),
        "admin": police_token(runtime, Role.ADMIN, None),
    }
    world = World(client=client, tokens=tokens, units={}, systems={})
    for obj, role in ((A, "unit_a"), (B, "unit_b")):
        account = h.open_legal_person(client, h.make_uscc(DIVISION[obj]))
        registered = h.register_unit(
            client, account.token, account.uscc, division_code=DIVISION[obj]
        )
        assert registered.status_code == 201, registered.text
        tokens[role] = account.token
        world.owners[obj] = account.token
        world.units[obj] = account.uscc
        world.systems[obj] = world.fresh_system(obj)
    tokens.update(impostors(world, runtime))
    return world


def _raw_account(runtime: Runtime, **fields: Any) -> str:
    """An account saved straight into the log, as older versions (or a bug) could leave one:
    the commands refuse to make these, which is why they are made here without them."""
    token, digest = new_token()
    account = Account.open(**fields)
    credential = Credential.issue(token_sha256=digest, account_id=account.id, expires_at=None)
    runtime.ledger.save(account, credential)
    return token


def impostors(world: World, runtime: Runtime) -> dict[str, str]:
    """The principals that must reach nothing: each made the way an attacker (or time) would."""
    ledger, client = runtime.ledger, world.client
    # A legal-person account that claimed A's USCC at self-signup (version 1 of the event).
    claimant = _raw_account(runtime, role=Role.LEGAL_PERSON, name="冒名公司", uscc=world.units[A])
    # A person who was A's agent until A's legal-person account removed it.
    removed = h.open_person(client, "前代理人")
    ok = client.post(f"/v1/units/{world.units[A]}/agents", headers=h.auth(world.owners[A]),
                     json={"authorization_letter_id": h.upload_pdf(client, world.owners[A]),
                           "account_id": removed.account_id})  # fmt: skip
    assert ok.status_code == 201, ok.text
    gone = client.delete(f"/v1/units/{world.units[A]}/agents/{removed.account_id}",
                         headers=h.auth(world.owners[A]))  # fmt: skip
    assert gone.status_code == 200, gone.text
    # A's agent whose account an operator disabled.
    disabled = h.open_person(client, "停用代理人")
    ok = client.post(f"/v1/units/{world.units[A]}/agents", headers=h.auth(world.owners[A]),
                     json={"authorization_letter_id": h.upload_pdf(client, world.owners[A]),
                           "account_id": disabled.account_id})  # fmt: skip
    assert ok.status_code == 201, ok.text
    ledger.set_account_enabled(account_id=UUID(disabled.account_id), enabled=False, reason="离职")
    # An officer account without a district (the commands refuse one).
    no_district = _raw_account(runtime, role=Role.OFFICER, name="无辖区民警")
    # Officer A's token past its expiry.
    expired, digest = new_token()
    ledger.open_account(
        token_sha256=digest, role=Role.OFFICER, name="过期", division_code=h.NANAN,
        today=h.today(), token_expires_at=datetime.now(UTC) - timedelta(seconds=1),
    )  # fmt: skip
    # Officer A's token after its holder rotated it.
    rotated = police_token(runtime, Role.OFFICER, h.NANAN, name="轮换")
    new = client.post("/v1/accounts/me/token", headers=h.auth(rotated))
    assert new.status_code == 201, new.text
    # An admin's token revoked by an operator (`accounts revoke-token --token`).
    revoked = police_token(runtime, Role.ADMIN, None, name="吊销")
    ledger.revoke_token(token_sha256=token_hash(revoked), reason="离职")
    return {
        "claimant_a": claimant, "removed_agent": removed.token, "disabled_agent": disabled.token,
        "officer_none": no_district, "expired": expired, "rotated": rotated, "revoked": revoked,
        "auditor_cq": police_token(runtime, Role.AUDITOR, "5001"),
    }  # fmt: skip


def test_every_role_gets_the_status_the_contract_gives_it(
    client: TestClient, runtime: Runtime
) -> None:
    world = world_of(client, runtime)
    wrong: list[str] = []
    calls = 0
    for key in sorted(set(app_routes(client.app)) & set(CASES)):  # type: ignore[arg-type]
        case = CASES[key]
        for role in ROLES:
            for obj in case.objects:
                method, url, kwargs = case.build(world, role, obj)
                headers = {**kwargs.pop("headers", {}), **world.headers(role)}
                answer = client.request(method, url, headers=headers, **kwargs)
                calls += 1
                if world.rotating == role and answer.status_code == 201:
                    world.tokens[role] = answer.json()["token"]  # the old one is revoked
                    world.owners = {
                        o: world.tokens[role] if t == headers.get("Authorization", "")[7:]
                        else t for o, t in world.owners.items()
                    }  # fmt: skip
                world.rotating = None
                want = expected(key, role, obj)
                if answer.status_code != want:
                    wrong.append(f"{key} {role} on {obj}: {answer.status_code} != {want}")
                elif key[1] in SCOPED_LISTS and answer.status_code == 200:
                    for other, system_id in world.systems.items():
                        # (a USCC only in the units list: an impostor's own account item
                        # in the audit shows the code it once claimed, and nothing else)
                        marks = [system_id, MARK[other]]
                        marks += [world.units[other]] if key[1] == "/v1/units" else []
                        leaked = any(mark in answer.text for mark in marks)
                        if other not in SEES[role] and leaked:
                            wrong.append(f"{key} {role} sees {other}'s system {system_id}")
    assert wrong == [], "\n".join(wrong)
    assert calls > 400

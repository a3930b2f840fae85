"""Every route of the app, called by every role, against its own and a foreign object.

The routes are read from `app.routes`, so a route added without an entry in `CASES` fails
`test_every_route_has_an_entry`. Two units: A (南岸区 500108) and B (沙坪坝区 500106), each
with a system filed online. Who sees which (shared/contract.md): a unit its own; an officer
its district; an auditor its prefix (`500108` sees A, `5101` sees neither); an admin both.
The rules: no token is 401 on every /v1 route but `POST /v1/accounts`; out of scope is 404
as if absent; in scope but not the caller's to do is 403.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.routing import Mount

from api.runtime import Runtime
from ledger.values import Role
from tests.e2e import helpers as h
from tests.e2e.conftest import police_token

A, B = "A", "B"
MARK = {A: "MARK-A-7f3c", B: "MARK-B-91d2"}  # in each object's addresses, to spot leaks
DIVISION = {A: h.NANAN, B: h.SHAPINGBA}
ROLES = (
    "unit_a", "unit_b", "officer_a", "officer_b", "auditor_a", "auditor_x", "admin", "anonymous",
)  # fmt: skip
SEES = {
    "unit_a": {A}, "unit_b": {B}, "officer_a": {A}, "officer_b": {B},
    "auditor_a": {A}, "auditor_x": set(), "admin": {A, B}, "anonymous": set(),
}  # fmt: skip
UNIT_SIDE = {"unit_a", "unit_b"}
OFFICERS = {"officer_a", "officer_b"}
READERS = {"auditor_a", "auditor_x", "admin"}


@dataclass
class World:
    client: TestClient
    tokens: dict[str, str]
    units: dict[str, str]  # object -> USCC
    systems: dict[str, str]  # object -> system_id
    owners: dict[str, str] = field(default_factory=dict)  # object -> owner's token

    def headers(self, role: str) -> dict[str, str]:
        return {} if role == "anonymous" else h.auth(self.tokens[role])

    def attachment(self, role: str) -> str:
        token = self.tokens.get(role) or self.tokens["admin"]
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
}
# Lists whose items must never name a system the caller does not see.
SCOPED_LISTS = {
    "/v1/systems", "/v1/audit", "/v1/feed", "/v1/overdue", "/v1/overdue/export",
    "/v1/systems/export",
}  # fmt: skip


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


def expected(key: tuple[str, str], role: str, obj: str) -> int:
    _, path = key
    if role == "anonymous" and path.startswith("/v1/") and key != ("POST", "/v1/accounts"):
        return 401
    return CASES[key].expect(role, obj)


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
    return world


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
                want = expected(key, role, obj)
                if answer.status_code != want:
                    wrong.append(f"{key} {role} on {obj}: {answer.status_code} != {want}")
                elif key[1] in SCOPED_LISTS and answer.status_code == 200:
                    for other, system_id in world.systems.items():
                        leaked = system_id in answer.text or MARK[other] in answer.text
                        if other not in SEES[role] and leaked:
                            wrong.append(f"{key} {role} sees {other}'s system {system_id}")
    assert wrong == [], "\n".join(wrong)
    assert calls > 150

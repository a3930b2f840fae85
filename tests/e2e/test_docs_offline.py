"""The API's documentation works with no way out of the network, and explains itself.

`/docs` (Swagger UI) and `/redoc` load their viewers from the app (fastapi-offline bundles
them), the OpenAPI names the bearer scheme on every route that needs a token, every request
body carries an example that its own model accepts, every vocabulary is an `enum`, and a wrong
place type is refused with the allowed ones listed."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel

import api.app
from api.core.runtime import Runtime
from api.core.settings import Settings
from ledger.validation import device_errors, system_field_errors
from ledger.values import PLACE_TYPES, Channel, DeviceType, Role, SystemStatus, UnitType
from tests.support import http as h
from tests.support.http import auth, police_token

DOC_PAGES = ("/docs", "/redoc")
# The routes that open an account, so need no token.
NO_TOKEN = {("post", "/v1/accounts"), ("post", "/v1/accounts/oidc")}


class _Links(HTMLParser):
    """Every URL a page loads or links: src and href attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value for name, value in attrs if name in ("src", "href") and value]


def _links(html: str) -> list[str]:
    parser = _Links()
    parser.feed(html)
    return parser.urls


def _models() -> dict[str, type[BaseModel]]:
    """Every pydantic model by its name (the OpenAPI's component names)."""
    found: dict[str, type[BaseModel]] = {}
    pending: list[type[BaseModel]] = [BaseModel]
    while pending:
        model = pending.pop()
        for sub in model.__subclasses__():
            if sub.__module__.startswith("api."):
                assert found.setdefault(sub.__name__, sub) is sub, f"two models {sub.__name__}"
            pending.append(sub)
    return found


def _json_bodies(openapi: dict[str, Any]) -> dict[tuple[str, str], str]:
    """(method, path) -> the component name of every JSON request body."""
    bodies = {}
    for path, operations in openapi["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                ref = content["application/json"]["schema"]["$ref"]
                bodies[(method, path)] = ref.rsplit("/", 1)[-1]
    return bodies


@pytest.mark.parametrize("page", DOC_PAGES)
def test_the_doc_pages_load_only_the_apps_own_files(client: TestClient, page: str) -> None:
    answer = client.get(page)

    assert answer.status_code == 200
    assert not re.search(r"https?://", answer.text), answer.text
    urls = _links(answer.text)
    assert urls and all(u.startswith("/docs/assets/") for u in urls), urls
    for url in urls:
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert asset.content, url


def test_the_viewers_are_served_whole(client: TestClient) -> None:
    swagger = client.get("/docs/assets/swagger-ui-bundle.js")
    redoc = client.get("/docs/assets/redoc.standalone.js")

    assert "javascript" in swagger.headers["content-type"]
    assert "SwaggerUIBundle" in swagger.text
    assert "javascript" in redoc.headers["content-type"]
    assert len(redoc.content) > 500_000  # the standalone bundle, not a loader


def test_production_shows_the_docs_files_to_admins_only(
    settings: Settings, runtime: Runtime
) -> None:
    admin = police_token(runtime, Role.ADMIN, None)
    officer = police_token(runtime, Role.OFFICER, "500108")
    production = settings.model_copy(update={"environment": "production"})
    with TestClient(api.app.create_app(production, runtime=runtime)) as client:
        for path in (*DOC_PAGES, "/docs/assets/swagger-ui-bundle.js"):
            assert client.get(path).status_code == 401, path
            assert client.get(path, headers=auth(officer)).status_code == 404, path
            assert client.get(path, headers=auth(admin)).status_code == 200, path


def test_the_openapi_names_the_bearer_scheme_on_every_route_that_needs_a_token(
    client: TestClient,
) -> None:
    openapi = client.get("/openapi.json").json()

    schemes = openapi["components"]["securitySchemes"]
    assert schemes == {"bearerAuth": {**schemes["bearerAuth"], "type": "http", "scheme": "bearer"}}
    for path, operations in openapi["paths"].items():
        for method, operation in operations.items():
            wanted: list[dict[str, list[str]]] | None = (
                [{"bearerAuth": []}]
                if path.startswith("/v1/") and (method, path) not in NO_TOKEN
                else None
            )
            assert operation.get("security") == wanted, (method, path)


def test_a_route_that_needs_a_token_still_answers_its_own_401(client: TestClient) -> None:
    for headers in ({}, auth("made-up"), {"Authorization": "Basic eDp5"}):
        answer = client.get("/v1/accounts/me", headers=headers)
        assert answer.status_code == 401
        assert answer.headers["content-type"].startswith("application/problem+json")


def test_every_request_body_has_an_example_its_model_accepts(
    client: TestClient, runtime: Runtime
) -> None:
    openapi = client.get("/openapi.json").json()
    components = openapi["components"]["schemas"]
    models = _models()
    rules = runtime.ledger.field_rules(h.today())

    bodies = _json_bodies(openapi)
    assert len(bodies) >= 13, bodies
    for (method, path), name in bodies.items():
        examples = components[name].get("examples")
        assert examples, f"{method.upper()} {path}: {name} has no example"
        for example in examples:
            models[name].model_validate_json(json.dumps(example))  # raises if refused
            # The domain's checks too: codes, place type of its category, coordinates.
            fields = example.get("changes", example)
            assert system_field_errors(fields, rules) == [], (name, example)
            for key in ("devices", "devices_added"):
                assert device_errors(example.get(key, []), rules) == [], (name, example)


def test_every_vocabulary_is_an_enum_in_the_openapi(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]

    def enum(model: str, field: str) -> list[Any]:
        schema = schemas[model]["properties"][field]
        if "$ref" in schema:
            schema = schemas[schema["$ref"].rsplit("/", 1)[-1]]
        return [v for v in schema["enum"] if v is not None]

    every_place_type = [t for types in PLACE_TYPES.values() for t in types]
    assert enum("SystemPublic", "place_category") == [1, 2, 3, 4, 5]
    assert enum("SystemPublic", "place_type") == every_place_type
    # In a request the place is described, not an enum: the domain's checks refuse a wrong one
    # (422 listing the allowed ones) after checks such as If-Match's.
    for model in ("SystemCreate", "DiscoveryCreate", "SystemChanges", "SystemPublic"):
        for field in ("place_category", "place_type"):
            description = schemas[model]["properties"][field]["description"]
            assert "2 (二类：人员聚集场所)" in description, (model, field)
            assert all(f"`{t}` " in description for t in every_place_type), (model, field)
    assert set(enum("UnitCreate", "unit_type")) == set(UnitType)
    assert set(enum("UnitPublic", "unit_type")) == set(UnitType)
    assert set(enum("DeviceIn", "device_type")) == set(DeviceType)
    assert set(enum("DevicePublic", "device_type")) == set(DeviceType)
    assert set(enum("SystemPublic", "status")) == set(SystemStatus)
    assert set(enum("SystemPublic", "channel")) == set(Channel)
    assert set(enum("UnitPublic", "channel")) == set(Channel)
    assert set(enum("HistoryItem", "channel")) == set(Channel)
    assert set(enum("AccountMe", "role")) == set(Role)
    assert set(enum("Actor", "role")) == set(Role)
    for model in ("UnitPublic", "UnitListItem"):
        assert enum(model, "verification") == ["pending", "confirmed", "rejected"]
    assert enum("VerificationDecision", "decision") == ["confirmed", "rejected"]
    assert enum("InspectionCreate", "result") == ["consistent", "discrepancy"]


def test_a_place_type_of_another_category_is_refused_listing_the_allowed_ones(
    client: TestClient,
) -> None:
    owner = h.unit_account(client)
    body = h.filing_body(owner.uscc, place_category=1, place_type="shopping_centre")

    problem = h.assert_problem(h.file_system(client, owner.token, body), 422)

    messages = [e["msg"] for e in problem["errors"] if e["loc"] == ["body", "place_type"]]
    assert messages == [
        "'shopping_centre' is not a place type of category 1; allowed: " + ", ".join(PLACE_TYPES[1])
    ]

"""The OpenAPI document names the problems any route can answer, whatever the route says.

Some answers come from layers in front of every route: the middleware (413 body cap, 429 rate
limits, 503 while the database is away), authentication (401), scoping (403, 404, as the
contract rules), malformed headers or cursors (400), and an upload of the wrong kind (415).
Each operation's `responses` gains those it does not list itself, as problem+json, so the
document tells clients (and schemathesis) every status they may meet.

`allowed_methods` lists every method a path answers to: Starlette's 405 names only the
methods of the first route whose path matched (`GET /v1/systems` and `POST /v1/systems` are two
routes), so the `Allow` header is completed from all of them.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from starlette.routing import Match
from starlette.types import Scope

PROBLEM_CONTENT = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
PROBLEM_SCHEMA = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
}
EVERYWHERE = {
    "413": "the request body is larger than the service accepts",
    "429": "too many requests from this address or with this token; see Retry-After",
    "503": "the database is unavailable or the views are catching up; see Retry-After",
}
ON_V1 = {
    "400": "a malformed header, cursor or parameter",
    "401": "no or bad bearer token",
    "403": "the caller sees the object but its role may not do this",
    "404": "absent, or outside the caller's scope",
}
WITH_BODY = {"415": "a body of a media type this operation does not take"}
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def document_problems(app: FastAPI) -> None:
    """Wraps `app.openapi` so every operation lists the problems of the layers above it."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = build()
        document.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
        for path, operations in document.get("paths", {}).items():
            for operation in operations.values():
                _complete(operation, path)
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def _complete(operation: dict[str, Any], path: str) -> None:
    extra = dict(EVERYWHERE)
    if path.startswith("/v1/"):
        extra.update(ON_V1)
    if "requestBody" in operation:
        extra.update(WITH_BODY)
    responses = operation.setdefault("responses", {})
    for status, description in extra.items():
        responses.setdefault(status, {"description": description, "content": PROBLEM_CONTENT})


def allowed_methods(scope: Scope) -> list[str]:
    """Every method some route of the app answers for this request's path."""
    routes = scope["app"].router.routes
    allowed = []
    for method in METHODS:
        probe = {**scope, "method": method}
        if any(route.matches(probe)[0] is Match.FULL for route in routes):
            allowed.append(method)
    return allowed

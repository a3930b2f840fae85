"""Every error as application/problem+json (RFC 9457); domain errors map to HTTP here only."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.middleware.headers import security_headers
from ledger.errors import (
    Conflict,
    Forbidden,
    IdempotencyKeyReused,
    LedgerError,
    NotFound,
    StaleVersion,
    ValidationFailed,
)
from ledger.values import FieldError

PROBLEM = "application/problem+json"
_STATUS: list[tuple[type[LedgerError], int]] = [
    (ValidationFailed, 422),
    (IdempotencyKeyReused, 422),
    (NotFound, 404),
    (Forbidden, 403),
    (Conflict, 409),
    (StaleVersion, 412),
]
_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    412: "Precondition failed",
    413: "Content too large",
    415: "Unsupported media type",
    422: "Validation failed",
    428: "Precondition required",
    429: "Too many requests",
    503: "Service unavailable",
}


class Problem(Exception):
    """An HTTP-level problem raised outside the domain (auth, headers, sizes)."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        errors: Sequence[FieldError] = (),
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}
        self.errors = list(errors)


def problem_response(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    errors: Sequence[FieldError] | Sequence[dict[str, Any]] = (),
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"https://psvs-ledger.example/problems/{status}",
        "title": title or _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = [
            {"loc": list(e.loc), "msg": e.msg} if isinstance(e, FieldError) else e for e in errors
        ]
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def status_of(error: LedgerError) -> int:
    for kind, status in _STATUS:
        if isinstance(error, kind):
            return status
    return 400


SemanticCheck = Callable[[Request, Any], list[FieldError]]


def install(app: FastAPI, semantic_checks: dict[tuple[str, str], SemanticCheck]) -> None:
    """Registers the handlers. `semantic_checks` add the domain's findings to a body that
    also failed its structural checks, so one answer names every bad field."""

    @app.exception_handler(LedgerError)
    async def ledger_error(request: Request, error: LedgerError) -> JSONResponse:
        errors = error.errors if isinstance(error, ValidationFailed) else ()
        return problem_response(status_of(error), error.detail, title=error.title, errors=errors)

    @app.exception_handler(Problem)
    async def problem(request: Request, error: Problem) -> JSONResponse:
        return problem_response(
            error.status, error.detail, errors=error.errors, headers=error.headers
        )

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", "invalid")} for e in error.errors()
        ]
        route = request.scope.get("route")
        check = semantic_checks.get((request.method, getattr(route, "path", "")))
        if check is not None and isinstance(error.body, dict):
            seen = {tuple(e["loc"]) for e in errors}
            # The domain's checks read the ledger (the caller, attachments, a sheet's rows):
            # in the thread pool, never on the event loop.
            found = await run_in_threadpool(check, request, error.body)
            errors += [{"loc": list(e.loc), "msg": e.msg} for e in found if e.loc not in seen]
        return problem_response(422, f"{len(errors)} field(s) are invalid", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        return problem_response(
            error.status_code, str(error.detail), headers=dict(error.headers or {})
        )

    async def database_down(request: Request, error: Exception) -> JSONResponse:
        from api.core.logs import log

        log.warning("database_unavailable", error_type=type(error).__name__)
        return _unavailable()

    # Handled here rather than as unexpected errors, so the answer passes the middleware
    # (security headers, request id, metrics) like any other.
    for kind in _database_errors():
        app.add_exception_handler(kind, database_down)

    # Starlette calls this one from ServerErrorMiddleware, outside every user middleware: the
    # answer gets the security headers and the request id here, as the middleware would add.
    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        from api.core.logs import log_unexpected

        log_unexpected(request, error)
        if _is_database_down(error):
            response = _unavailable()
        else:
            response = problem_response(500, "an unexpected error occurred; it has been logged")
        return _as_the_middleware_would(request, response)


def _as_the_middleware_would(request: Request, response: JSONResponse) -> JSONResponse:
    for name, value in security_headers(request.url.path).items():
        response.headers.setdefault(name, value)
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    if isinstance(request_id, str):
        response.headers.setdefault("X-Request-ID", request_id)
    return response


def _is_database_down(error: BaseException) -> bool:
    import psycopg
    from eventsourcing.persistence import OperationalError, PersistenceError

    return isinstance(error, psycopg.OperationalError | OperationalError) or (
        isinstance(error, PersistenceError) and "connect" in str(error).lower()
    )


def _unavailable() -> JSONResponse:
    return problem_response(
        503, "the database is unavailable; try again shortly", headers={"Retry-After": "2"}
    )


def _database_errors() -> tuple[type[Exception], ...]:
    """What the driver, its pool and the event store raise while the database is away."""
    import psycopg
    import psycopg_pool
    from eventsourcing.persistence import InterfaceError, OperationalError

    return (psycopg.OperationalError, OperationalError, InterfaceError, psycopg_pool.PoolTimeout)

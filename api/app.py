"""The HTTP application's composition root: `create_app` wires settings, ledger and views."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi_offline import FastAPIOffline
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

from api import web
from api.core import logs
from api.core import metrics as ledger_metrics
from api.core.runtime import Runtime, ViewsKept, open_runtime
from api.core.settings import Settings
from api.http import problems
from api.http.deps import today
from api.http.problem_docs import document_problems
from api.http.problems import Problem
from api.identity.throttle import Throttle
from api.identity.tokens import Authenticator
from api.middleware.limits import LimitsMiddleware
from api.queries import cursors
from api.routes import accounts, audit, bench, feed, overdue, police, systems
from api.routes import exports as export_routes
from api.routes import ledger as ledger_routes
from api.routes import oidc as oidc_routes
from api.sheets.uploads import sheet_errors
from api.web.sessions import SessionStore
from ledger import codes
from ledger.accounts import Account
from ledger.errors import LedgerError
from ledger.validation import device_errors, system_field_errors
from ledger.values import FieldError, Role

READY_MAX_LAG = 1000
# Swagger UI's and ReDoc's files, served by the app itself (fastapi-offline bundles them): the
# pages work on a network with no way out. Under /docs, so the production gate
# (api/middleware/limits.py) and the database breaker's exemption (api/middleware/breaker.py) cover
# them as they cover the pages.
DOCS_ASSETS = "/docs/assets"

REQUESTS = Counter("ledger_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram("ledger_http_request_seconds", "HTTP request latency", ["method", "route"])


def _system_semantics(request: Request, body: Any) -> list[FieldError]:
    """The domain's checks on a filing body that also failed its structural checks."""
    rt: Runtime = request.app.state.runtime
    rules = rt.ledger.field_rules(today())
    errors = system_field_errors(body, rules)
    devices = body.get("devices")
    if isinstance(devices, list):
        errors += device_errors(devices, rules)
    errors += sheet_errors(rt.ledger, _caller_or_none(request), body, rules)
    return errors


def _caller_or_none(request: Request) -> Account | None:
    try:
        account: Account = request.app.state.authenticator.account(request)
    except Problem:
        return None
    return account


def _code_errors(body: Any, checks: dict[str, Callable[[str], str | None]]) -> list[FieldError]:
    return [
        FieldError(("body", field), msg)
        for field, check in checks.items()
        if isinstance(body.get(field), str) and (msg := check(body[field])) is not None
    ]


def _unit_semantics(request: Request, body: Any) -> list[FieldError]:
    """The unit's code checks and the letter rule, for a body that failed its schema."""
    errors = _code_errors(
        body,
        {
            "uscc": codes.uscc_error,
            "division_code": codes.division_code_error,
            "contact_phone": codes.phone_error,
        },
    )
    caller = _caller_or_none(request)
    uscc = body.get("uscc")
    own = (
        caller is not None
        and caller.role is Role.LEGAL_PERSON
        and isinstance(uscc, str)
        and caller.uscc == codes.normalise_uscc(uscc)
    )
    if caller is not None and not own and body.get("authorization_letter_id") is None:
        errors.append(
            FieldError(
                ("body", "authorization_letter_id"),
                "an authorisation letter is required unless the unit's own "
                "legal-person account registers it",
            )
        )
    return errors


def _account_semantics(request: Request, body: Any) -> list[FieldError]:
    return _code_errors(
        body,
        {
            "phone": codes.phone_error,
            "id_number": lambda value: codes.id_card_error(value, today=today()),
        },
    )


def _change_semantics(request: Request, body: Any) -> list[FieldError]:
    """The domain's checks on a change, against the system as filed when the caller may see it."""
    rt: Runtime = request.app.state.runtime
    rules = rt.ledger.field_rules(today())
    changes = body.get("changes") if isinstance(body.get("changes"), dict) else {}
    filed: dict[str, Any] = {}
    caller = _caller_or_none(request)
    try:
        system_id = UUID(str(request.path_params.get("system_id")))
        if caller is not None:
            filed = dict(rt.ledger.system_for(caller, system_id).fields)
    except (ValueError, LedgerError):
        filed = {}
    errors = [
        FieldError(("body", "changes", *e.loc[1:]), e.msg)
        for e in system_field_errors({**filed, **changes}, rules)
        if e.loc[-1] in changes or (e.loc[-1] == "place_type" and "place_category" in changes)
    ]
    added = body.get("devices_added")
    if isinstance(added, list):
        errors += device_errors(added, rules, loc=("body", "devices_added"))
    return errors


def create_app(
    settings: Settings | None = None,
    *,
    runtime: Runtime | None = None,
    projections: bool | ViewsKept = True,
) -> FastAPI:
    """The HTTP application; `projections` says who keeps the views (api/core/runtime.py):
    `serve` passes "worker" (a supervised projection worker process)."""
    settings = settings or Settings()
    logs.configure(settings.log_level, settings.log_format)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = runtime is None
        rt = runtime or open_runtime(settings, projections=projections)
        app.state.runtime = rt
        app.state.authenticator = Authenticator(rt.ledger)
        app.state.throttle = Throttle(
            rt.reads,
            limit=settings.auth_failure_limit,
            window_seconds=settings.auth_failure_window_seconds,
        )
        app.state.authenticator.throttle = app.state.throttle  # bearer-token failures too
        app.state.officer_session_store = SessionStore(
            rt.reads,
            idle_minutes=settings.officer_idle_minutes,
            session_hours=settings.officer_session_hours,
        )
        if settings.bench_routes:
            bench.create_bench_table(rt)
        if owned:
            rt.start_projections()
        logs.log.info("started", projections=[r.name for r in rt.runners])
        try:
            yield
        finally:
            if owned:
                rt.close()

    app = FastAPIOffline(
        title="psvs-ledger",
        version="1",
        summary="Filing ledger for public security video systems (公共安全视频图像信息系统备案)",
        lifespan=lifespan,
        static_url=DOCS_ASSETS,
    )
    app.state.settings = settings
    problems.install(
        app,
        {
            ("POST", "/v1/systems"): _system_semantics,
            ("POST", "/v1/units"): _unit_semantics,
            ("POST", "/v1/accounts"): _account_semantics,
            ("POST", "/v1/systems/{system_id}/changes"): _change_semantics,
            **police.SEMANTIC_CHECKS,
        },
    )
    app.include_router(accounts.router)
    app.include_router(oidc_routes.router)  # POST /v1/accounts/oidc
    # Before systems: /v1/systems/export is not a system id.
    app.include_router(export_routes.router)
    app.include_router(systems.router)
    app.include_router(ledger_routes.router)
    app.include_router(police.router)
    app.include_router(audit.router)
    app.include_router(overdue.router)
    app.include_router(feed.router)
    if settings.bench_routes:
        app.include_router(bench.router)
    web.install(app, settings)  # the officer pages under /officer/ and their static files
    _install_operations(app)
    # Inside the logging middleware, so refusals (413, 429) are logged and counted too.
    app.add_middleware(LimitsMiddleware, settings=settings)
    document_problems(app)
    _install_middleware(app, settings)
    return app


def _observe(method: str, route: str, status: int, seconds: float) -> None:
    LATENCY.labels(method, "all").observe(seconds)
    REQUESTS.labels(method, route, str(status)).inc()


def _install_middleware(app: FastAPI, settings: Settings) -> None:
    app.add_middleware(logs.RequestLog, observe=_observe)


def _is_admin(request: Request) -> bool:
    """Whether the request carries an admin's bearer token. Any other token, a bad one
    (counted by the throttle as on any route) or one that cannot be looked up while the
    database is away gets the public answer: readiness itself stays public."""
    if "authorization" not in request.headers:
        return False
    try:
        account: Account = request.app.state.authenticator.account(request)
    except Exception:
        return False
    return account.role is Role.ADMIN


def _install_operations(app: FastAPI) -> None:
    cursors.configure(app.state.settings)  # the lists' cursors are signed under its key

    @app.get("/livez", tags=["operations"])
    def livez() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"])
    def readyz(request: Request) -> JSONResponse:
        """Ready (200 `{"status": "ok"}`) when the database answers and the views are not too
        far behind, else 503 `{"status": "degraded"}`. Only an admin's bearer token also gets
        the details: the log's head, each view's position, lag and error, or the database's."""
        rt: Runtime = request.app.state.runtime
        details: dict[str, Any]
        try:
            views = rt.health()
            details = {"head": rt.head(), "views": views}
            ready = not [v for v in views if v["error"] or v["lag"] > READY_MAX_LAG]
        except Exception as error:  # the database is down or unreachable
            details = {"database": f"unavailable: {type(error).__name__}: {error}"[:500]}
            ready = False
        body: dict[str, Any] = {"status": "ok" if ready else "degraded"}
        if _is_admin(request):
            body.update(details)
        headers = None if ready else {"Retry-After": "2"}
        return JSONResponse(body, status_code=200 if ready else 503, headers=headers)

    @app.get("/metrics", tags=["operations"], response_class=PlainTextResponse)
    def metrics(request: Request) -> PlainTextResponse:
        ledger_metrics.update(request.app.state.runtime)  # lag, checkpoint age, pools
        return PlainTextResponse(generate_latest().decode(), media_type=CONTENT_TYPE_LATEST)

"""The HTTP application's composition root: `create_app` wires settings, ledger and views."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

from api import logs, problems
from api.auth import Authenticator
from api.deps import today
from api.problems import problem_response
from api.routes import accounts, systems
from api.runtime import Runtime, open_runtime
from api.settings import Settings
from ledger.validation import device_errors, system_field_errors
from ledger.values import FieldError

READY_MAX_LAG = 1000

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
    return errors


def create_app(
    settings: Settings | None = None, *, runtime: Runtime | None = None, projections: bool = True
) -> FastAPI:
    settings = settings or Settings()
    logs.configure(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = runtime is None
        rt = runtime or open_runtime(settings, projections=projections)
        app.state.runtime = rt
        app.state.authenticator = Authenticator(rt.ledger)
        if owned:
            rt.start_projections()
        logs.log.info("started", projections=[r.projection.name for r in rt.runners])
        try:
            yield
        finally:
            if owned:
                rt.close()

    app = FastAPI(
        title="psvs-ledger",
        version="1",
        summary="Filing ledger for public security video systems (公共安全视频图像信息系统备案)",
        lifespan=lifespan,
    )
    problems.install(app, {("POST", "/v1/systems"): _system_semantics})
    app.include_router(accounts.router)
    app.include_router(systems.router)
    _install_operations(app)
    _install_middleware(app, settings)
    return app


def _install_middleware(app: FastAPI, settings: Settings) -> None:
    @app.middleware("http")
    async def limits_and_metrics(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > settings.max_body_bytes):
            return problem_response(
                413, f"request bodies are limited to {settings.max_body_bytes} bytes"
            )
        with LATENCY.labels(request.method, "all").time():
            response = await logs.request_context(request, call_next)
        route = getattr(request.scope.get("route"), "path", "unmatched")
        REQUESTS.labels(request.method, route, str(response.status_code)).inc()
        return response


def _install_operations(app: FastAPI) -> None:
    @app.get("/livez", tags=["operations"])
    def livez() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"])
    def readyz(request: Request) -> JSONResponse:
        """Ready when the database answers and the views are not too far behind."""
        rt: Runtime = request.app.state.runtime
        try:
            views = rt.health()
            head = rt.head()
        except Exception as error:  # the database is down or unreachable
            return problem_response(
                503, f"database unavailable: {type(error).__name__}", headers={"Retry-After": "2"}
            )
        failing = [v for v in views if v["error"] or v["lag"] > READY_MAX_LAG]
        body = {"status": "ok" if not failing else "degraded", "head": head, "views": views}
        return JSONResponse(body, status_code=200 if not failing else 503)

    @app.get("/metrics", tags=["operations"])
    def metrics() -> PlainTextResponse:
        return PlainTextResponse(generate_latest().decode(), media_type=CONTENT_TYPE_LATEST)

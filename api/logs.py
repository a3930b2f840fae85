"""structlog set-up: JSON lines off a terminal, a request id per request, no personal numbers."""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from collections.abc import Callable, MutableMapping
from typing import Any

import structlog
from fastapi import Request
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# ID-card numbers (18 chars) and mainland mobiles; scrubbed from every event dict, whatever key.
_PERSONAL = re.compile(r"(?<!\d)(\d{17}[\dXx]|1[3-9]\d{9})(?!\d)")


def scrub(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in list(event_dict.items()):
        if isinstance(value, str):
            event_dict[key] = _PERSONAL.sub("[redacted]", value)
    return event_dict


def configure(level: str = "info") -> None:
    renderer: Any = (
        structlog.dev.ConsoleRenderer()
        if sys.stderr.isatty()
        else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            scrub,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
        ),
        # Look up sys.stderr per logger, so a redirected stream (tests, daemons) is honoured.
        logger_factory=lambda *_: structlog.PrintLogger(sys.stderr),
        cache_logger_on_first_use=False,
    )


log = structlog.get_logger("psvs_ledger")


_REQUEST_ID = re.compile(r"[\w.-]{1,64}")

Observe = Callable[[str, str, int, float], None]  # method, route, status, seconds


class RequestLog:
    """ASGI middleware: binds a request id (the client's X-Request-ID if sane), returns it in
    the response, logs one line per request and hands its figures to `observe`.

    Plain ASGI rather than Starlette's BaseHTTPMiddleware, which runs every request's body
    and response through extra tasks and streams (a tenth of a request's time here)."""

    def __init__(self, app: ASGIApp, observe: Observe) -> None:
        self.app = app
        self.observe = observe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get("x-request-id", "")
        request_id = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            self.observe(scope["method"], route, status, time.perf_counter() - started)
            log.info("request", method=scope["method"], route=route, status=status)


def log_unexpected(request: Request, error: BaseException) -> None:
    log.error(
        "unexpected_error",
        error_type=type(error).__name__,
        error=str(error)[:500],
        path=request.url.path,
    )

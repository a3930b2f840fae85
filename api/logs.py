"""structlog set-up: JSON lines off a terminal, a request id per request, no personal numbers."""

from __future__ import annotations

import logging
import re
import sys
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import structlog
from fastapi import Request, Response

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


async def request_context(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Binds a request id (the client's X-Request-ID if sane) and logs one line per request."""
    given = request.headers.get("x-request-id", "")
    request_id = given if re.fullmatch(r"[\w.-]{1,64}", given) else uuid.uuid4().hex
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=request_id)
    response = await call_next(request)
    response.headers["X-Request-ID"] = request_id
    route = request.scope.get("route")
    log.info(
        "request",
        method=request.method,
        route=getattr(route, "path", "unmatched"),
        status=response.status_code,
    )
    return response


def log_unexpected(request: Request, error: BaseException) -> None:
    log.error(
        "unexpected_error",
        error_type=type(error).__name__,
        error=str(error)[:500],
        path=request.url.path,
    )

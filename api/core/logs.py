"""structlog set-up: JSON lines off a terminal, a request id per request, no personal numbers.

Every request gets one `request` line: its method, route, status, `duration_ms`, the client's
address (`client`) and, once it is known, who made it (`account_id`, `role`: set on
`request.state` by the bearer-token dependency and by the officer pages' `officer()`).
`security_event` logs what a security review asks for (sign-ins, their failures, throttling,
sign-outs, sessions that end) as the same JSON lines with `"security": true`, whatever
`LEDGER_LOG_LEVEL` says (at least `info`). Neither ever carries a token; the `scrub` processor
removes ID-card and phone numbers from every line.
"""

from __future__ import annotations

import logging
import os
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


# The format `configure` chose last ("json" or "console"): `uvicorn_log_config` follows it.
_format = "json"


def _renderer(fmt: str) -> Any:
    if fmt == "console":
        return structlog.dev.ConsoleRenderer()
    return structlog.processors.JSONRenderer()


def _chosen(fmt: str | None) -> str:
    """`fmt`, else `LEDGER_LOG_FORMAT`, else as before it existed: JSON off a terminal."""
    fmt = fmt or os.environ.get("LEDGER_LOG_FORMAT")
    if fmt in ("json", "console"):
        return fmt
    return "console" if sys.stderr.isatty() else "json"


def _shared() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        scrub,
    ]


def formatter(fmt: str | None = None) -> logging.Formatter:
    """A stdlib formatter rendering records (uvicorn's, libraries', warnings) like structlog's
    own lines: the same processors, the same renderer."""
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.add_logger_name, *_shared()],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            _renderer(_chosen(fmt or _format)),
        ],
    )


def configure(level: str = "info", fmt: str | None = None) -> None:
    """structlog's lines and the standard library's (root logger, `warnings`) in one format:
    `fmt` ("json", "console"; None = JSON unless stderr is a terminal)."""
    global _format
    _format = _chosen(fmt)
    structlog.configure(
        processors=[*_shared(), _renderer(_format)],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
        ),
        # Look up sys.stderr per logger, so a redirected stream (tests, daemons) is honoured.
        logger_factory=lambda *_: structlog.PrintLogger(sys.stderr),
        cache_logger_on_first_use=False,
    )
    # Libraries' records and Python's warnings: through the same renderer to stderr.
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _StderrHandler)]:
        root.removeHandler(old)
    handler = _StderrHandler()
    handler.setFormatter(formatter(_format))
    root.addHandler(handler)  # the root's level stays (WARNING unless someone changed it)
    logging.captureWarnings(True)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to the current sys.stderr (a redirected stream is honoured, as for structlog)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def uvicorn_log_config(level: str = "info") -> dict[str, Any]:
    """uvicorn's `log_config`: its error and start-up lines through the renderer `configure`
    chose (one JSON object per line with `LEDGER_LOG_FORMAT=json`). Its access log is off: the
    service's own `request` lines (RequestLog) carry the duration."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "structlog": {"()": formatter, "fmt": _format},
        },
        "handlers": {
            "default": {"()": _StderrHandler, "formatter": "structlog"},
        },
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": level.upper(), "propagate": False},
            "uvicorn.error": {"level": level.upper()},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }


log = structlog.get_logger("psvs_ledger")
# Security events are emitted at `info` and above whatever the configured level: an operator who
# quiets the log to warnings still keeps the record of who signed in. Same processors and stream.
_security_log = structlog.wrap_logger(
    None,
    wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
    logger_factory_args=("psvs_ledger.security",),
)
# Refusals and throttling are warnings; successful sign-ins, sign-outs and endings are info.
_SECURITY_WARNINGS = frozenset(
    {"auth_failure", "auth_throttled", "sign_in_refused", "bearer_token_refused"}
)


def security_event(event: str, **fields: Any) -> None:
    """One security log line (`"security": true`). Never pass a token or a personal number."""
    if event in _SECURITY_WARNINGS:
        _security_log.warning(event, security=True, **fields)
    else:
        _security_log.info(event, security=True, **fields)


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
            seconds = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", "unmatched")
            self.observe(scope["method"], route, status, seconds)
            state = scope.get("state")
            state = state if isinstance(state, dict) else {}
            account_id, role = state.get("account_id"), state.get("role")
            client = scope.get("client")
            log.info(
                "request",
                method=scope["method"],
                route=route,
                status=status,
                duration_ms=round(seconds * 1000, 1),
                client=client[0] if client else None,
                account_id=str(account_id) if account_id is not None else None,
                role=str(role) if role is not None else None,
            )


def log_unexpected(request: Request, error: BaseException) -> None:
    log.error(
        "unexpected_error",
        error_type=type(error).__name__,
        error=str(error)[:500],
        path=request.url.path,
    )

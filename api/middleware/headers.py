"""Security headers on every response: JSON, problem documents, officer pages and static files.

The officer pages are rendered on the server and use htmx from `/officer/static`, with no
inline script or style, so one strict policy fits them and the JSON alike: everything from the
app's own origin, nothing inline, no framing. Only FastAPI's `/docs` and `/redoc` pages load
their viewer from a CDN with an inline bootstrap script; they get a policy that allows exactly
that (and in production they answer only to admins, see api/middleware/limits.py).
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import Message, Scope, Send

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
    "worker-src blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def security_headers(path: str) -> dict[str, str]:
    """The headers every response to `path` carries."""
    headers = {
        **HEADERS,
        "Content-Security-Policy": DOCS_CSP if path.startswith(DOCS_PATHS) else CSP,
    }
    if path.startswith("/v1/"):
        # Answers to bearer tokens are per caller: no shared cache may keep them.
        headers["Cache-Control"] = "no-store"
    return headers


def add_security_headers(scope: Scope, send: Send) -> Send:
    """`send` with the security headers added to the response's start (a route's own wins).

    This wraps every response that passes the middleware (api/middleware/limits.py). An unexpected
    error's 500 does not: Starlette's ServerErrorMiddleware, outside every user middleware, sends
    it, so api/http/problems.py puts the same headers (`security_headers`) on that answer itself."""
    wanted = security_headers(scope.get("path", ""))

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            for name, value in wanted.items():
                headers.setdefault(name, value)
        await send(message)

    return sending

"""The officer pages under /officer/: server-rendered (Jinja2, zh-CN) with htmx for partial
updates, htmx itself served from api/web/static (no CDN).

`install(app, settings)` adds the pages and their static files to the app. The pages read and
write through the same ledger methods and view readers as the API's routes; errors are mapped
to pages in api/web/errors.py.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from api.core.settings import Settings
from api.web import dashboard, filing, login, police_forms, systems
from api.web.site import STATIC_DIR

router = APIRouter(prefix="/officer")
for module in (login, dashboard, systems, police_forms, filing):
    router.include_router(module.router)


def _home() -> RedirectResponse:
    """`GET /`: the officer pages (their login when no session)."""
    return RedirectResponse("/officer/", status_code=307)


def install(app: FastAPI, settings: Settings) -> None:
    """The pages, their static files, and the settings their session key comes from."""
    app.state.officer_settings = settings
    app.include_router(router, include_in_schema=False)
    app.add_api_route("/", _home, methods=["GET"], include_in_schema=False)
    app.mount("/officer/static", StaticFiles(directory=STATIC_DIR), name="officer-static")

"""What every officer page shares: templates, the session and the signed-in account.

`render` fills a template with the signed-in account, the session's CSRF token, today's date
(Asia/Shanghai) and the label tables. `officer` is the dependency of every page behind the
login: it reads the session cookie, checks the session's row (api/web/sessions.py) and loads the
account it belongs to, which must be a police-side one and not disabled; otherwise the visitor
is sent to the login (see api/web/errors.py). It sets `request.state.account_id` and
`request.state.role`, which the request log line reports (api/core/logs.py).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData
from starlette.responses import Response

from api.core.logs import security_event
from api.core.runtime import Runtime
from api.core.secrets import session_key
from api.core.settings import Settings
from api.http.deps import today
from api.identity.tokens import client_address
from api.web import labels
from api.web.errors import CsrfRejected, LoginRequired, PageError, page_route_class
from api.web.messages import ledger_message
from api.web.sessions import (
    Session,
    Sessions,
    SessionStore,
    csrf_matches,
    new_session,
    session_ref,
)
from ledger.accounts import Account
from ledger.values import PLACE_TYPES

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
CSRF_FIELD = "csrf_token"
POLICE_ROLES = frozenset({"officer", "auditor", "admin"})

templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters["shanghai_time"] = labels.shanghai_time
templates.env.filters["day"] = labels.calendar_day
templates.env.globals["L"] = labels
templates.env.globals["label"] = labels.label
templates.env.globals["CSRF_FIELD"] = CSRF_FIELD
templates.env.globals["place_types"] = PLACE_TYPES
templates.env.filters["zh"] = ledger_message


def sessions(request: Request) -> Sessions:
    """The app's session signer, made on first use (the key file is written only then)."""
    state = request.app.state
    found: Sessions | None = getattr(state, "officer_sessions", None)
    if found is None:
        settings: Settings = state.officer_settings
        found = Sessions(
            session_key(settings), max_age_seconds=settings.officer_session_hours * 3600
        )
        state.officer_sessions = found
    return found


def session_store(request: Request) -> SessionStore:
    """The sessions' rows (made in the app's lifespan, api/app.py)."""
    store: SessionStore = request.app.state.officer_session_store
    return store


def current_session(request: Request) -> Session | None:
    return sessions(request).read(request)


def runtime_of(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def load_account(rt: Runtime, account_id: str) -> Account | None:
    try:
        found: object = rt.ledger.repository.get(UUID(account_id))
    except (AggregateNotFoundError, ValueError):
        return None
    return found if isinstance(found, Account) else None


def _ended_by_account(account: Account, started: datetime | None) -> str | None:
    """Why the account ends a session of its own: disabled, or its tokens revoked since the
    session began."""
    if account.disabled:
        return "account_disabled"
    revoked = account.tokens_valid_from
    if revoked is not None and started is not None and started < revoked:
        return "tokens_revoked"
    return None


def officer(request: Request) -> Account:
    """The signed-in police-side account of this request, or a trip to the login page.

    The session's row must be live (not signed out, idle or too old) and its account an active
    police-side one; a disabled account's session, or one begun before its account's tokens
    were revoked, is ended at its next request."""
    session = current_session(request)
    if session is None or session.session_id is None:
        raise LoginRequired()
    store = session_store(request)
    checked = store.check(session.session_id)
    if checked.ended_now is not None:
        security_event(
            "session_ended",
            reason=checked.ended_now,
            account_id=checked.ended_account_id,
            session=session_ref(session.session_id),
            client=client_address(request),
        )
    if checked.account_id is None:
        raise LoginRequired()
    account = load_account(runtime_of(request), checked.account_id)
    if account is None or str(account.role) not in POLICE_ROLES:
        raise LoginRequired()
    ended = _ended_by_account(account, checked.created_at)
    if ended is not None:
        if store.end(session.session_id, ended) is not None:
            security_event(
                "session_ended",
                reason=ended,
                account_id=checked.account_id,
                session=session_ref(session.session_id),
                client=client_address(request),
            )
        raise LoginRequired()
    request.state.officer_session = session
    request.state.account_id = str(account.id)
    request.state.role = str(account.role)
    return account


Officer = Annotated[Account, Depends(officer)]


async def checked_form(request: Request) -> FormData:
    """The POSTed form, once its CSRF field matches the session's."""
    form = await request.form()
    if not csrf_matches(current_session(request), form.get(CSRF_FIELD)):
        raise CsrfRejected()
    return form


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
    account: Account | None = None,
    session: Session | None = None,
) -> Response:
    """A page (or an htmx fragment) with what every template may use."""
    session = session or getattr(request.state, "officer_session", None)
    fresh = session is None
    if session is None:
        session = current_session(request) or new_session()
    response = templates.TemplateResponse(
        request,
        name,
        {
            "account": account,
            "csrf_token": session.csrf,
            "today": today(),
            "bureau_name": request.app.state.officer_settings.bureau_name,
            **(context or {}),
        },
        status_code=status,
    )
    if fresh:
        sessions(request).write(request, response, session)
    response.headers["Cache-Control"] = "no-store"
    return response


def error_page(request: Request, error: PageError) -> Response:
    if request.headers.get("hx-request"):
        return templates.TemplateResponse(
            request, "_error.html", {"error": error}, status_code=error.status
        )
    return render(request, "error.html", {"error": error}, status=error.status)


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


# The route class of every page: errors become pages (api/web/errors.py).
PageRoute = page_route_class(error_page)

"""Signing in with a police-side token (officer, auditor or admin), and signing out.

A sign-in is throttled (api/identity/throttle.py): after `LEDGER_AUTH_FAILURE_LIMIT` unknown tokens
from one client address within `LEDGER_AUTH_FAILURE_WINDOW_SECONDS`, the login answers 429 with
`Retry-After` before it looks at the token, right or wrong. Every outcome is a security log line
(api/core/logs.py): `sign_in`, `auth_failure` (counted), `sign_in_refused` (not counted: no token,
or a unit's valid token at the police door), `auth_throttled`, `sign_out`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from api.core.logs import security_event
from api.identity.throttle import Throttle
from api.identity.tokens import client_address, token_hash
from api.web.errors import FormErrors
from api.web.sessions import new_session, session_ref
from api.web.site import (
    POLICE_ROLES,
    PageRoute,
    checked_form,
    current_session,
    render,
    runtime_of,
    session_store,
    sessions,
)
from ledger.accounts import Account

router = APIRouter(route_class=PageRoute)
HOME = "/officer/"
# The throttle's reason for each refusal of `ledger.access.credential_refusal`.
_FAILURES = {
    "unknown": "unknown_token",
    "revoked": "revoked_token",
    "expired": "expired_token",
    "disabled": "account_disabled",
}
KIND = "officer_login"


def _safe_next(target: str | None) -> str:
    """Only a path of these pages: never another site (`//host`, `https://...`)."""
    if target and target.startswith("/officer/") and not target.startswith("//"):
        return target
    return HOME


def _throttle(request: Request) -> Throttle:
    found: Throttle = request.app.state.throttle
    return found


def _too_many(request: Request, target: str, seconds: int) -> Response:
    errors = FormErrors({"token"})
    minutes = max(1, -(-seconds // 60))
    errors.add("token", f"登录失败次数过多，请约 {minutes} 分钟后再试")
    response = render(request, "login.html", {"next": target, "errors": errors}, status=429)
    response.headers["Retry-After"] = str(seconds)
    return response


@router.get("/login")
def login_form(
    request: Request, next: Annotated[str | None, Query(max_length=500)] = None
) -> Response:
    return render(request, "login.html", {"next": _safe_next(next), "errors": None})


@router.post("/login")
async def login(request: Request) -> Response:
    form = await checked_form(request)
    token = str(form.get("token") or "").strip()
    target = _safe_next(str(form.get("next") or ""))
    address = client_address(request)
    throttle = _throttle(request)
    wait = await run_in_threadpool(lambda: throttle.retry_after(address=address))
    if wait is not None:
        return _too_many(request, target, wait)
    errors = FormErrors({"token"})
    account: Account | None = None
    if not token:
        errors.add("token", "请输入令牌")
        security_event("sign_in_refused", kind=KIND, reason="no_token", client=address)
    else:
        holder, refusal = await run_in_threadpool(
            runtime_of(request).ledger.token_holder, token_hash(token)
        )
        account = None if refusal is not None else holder
        if account is None:  # a revoked or expired token counts against its account too
            errors.add("token", "该账户已停用" if refusal == "disabled" else "令牌无效")
            holder_id = None if holder is None else str(holder.id)
            reason = _FAILURES.get(refusal or "unknown", "unknown_token")
            await run_in_threadpool(
                lambda: throttle.failed(
                    address=address, account_id=holder_id, kind=KIND, reason=reason
                )
            )
        elif str(account.role) not in POLICE_ROLES:
            errors.add("token", "此处仅供公安机关账户（民警、审计、管理员）登录")
            security_event(
                "sign_in_refused",
                kind=KIND,
                reason="not_police",
                client=address,
                account_id=str(account.id),
                role=str(account.role),
            )
        else:
            account_id = str(account.id)
            wait = await run_in_threadpool(
                lambda: throttle.retry_after(address=address, account_id=account_id)
            )
            if wait is not None:
                return _too_many(request, target, wait)
    if errors or account is None:
        return render(request, "login.html", {"next": target, "errors": errors}, status=401)
    store = session_store(request)
    before = current_session(request)
    if before is not None and before.session_id is not None:
        # A new login on this browser ends the one before it (no session outlives its cookie).
        await run_in_threadpool(store.end, before.session_id, "replaced")
    session_id = await run_in_threadpool(store.start, str(account.id))
    request.state.account_id = str(account.id)
    request.state.role = str(account.role)
    security_event(
        "sign_in",
        kind=KIND,
        client=address,
        account_id=str(account.id),
        role=str(account.role),
        session=session_ref(session_id),
    )
    response = RedirectResponse(target, status_code=303)
    # A fresh session (and CSRF token): nothing from before the login carries over.
    sessions(request).write(request, response, new_session(session_id))
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    await checked_form(request)
    session = current_session(request)
    if session is not None and session.session_id is not None:
        ended = await run_in_threadpool(session_store(request).end, session.session_id, "logout")
        if ended is not None:
            request.state.account_id = ended
            security_event(
                "sign_out",
                client=client_address(request),
                account_id=ended,
                session=session_ref(session.session_id),
            )
    response = RedirectResponse("/officer/login", status_code=303)
    sessions(request).clear(response)
    return response

"""Signing in with a police-side token (officer, auditor or admin), and signing out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response

from api.auth import token_hash
from api.web.errors import FormErrors
from api.web.sessions import new_session
from api.web.site import POLICE_ROLES, PageRoute, checked_form, render, runtime_of, sessions

router = APIRouter(route_class=PageRoute)
HOME = "/officer/"


def _safe_next(target: str | None) -> str:
    """Only a path of these pages: never another site (`//host`, `https://...`)."""
    if target and target.startswith("/officer/") and not target.startswith("//"):
        return target
    return HOME


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
    errors = FormErrors({"token"})
    account = None
    if not token:
        errors.add("token", "请输入令牌")
    else:
        account = runtime_of(request).ledger.account_for_token(token_hash(token))
        if account is None:
            errors.add("token", "令牌无效")
        elif str(account.role) not in POLICE_ROLES:
            errors.add("token", "此处仅供公安机关账户（民警、审计、管理员）登录")
    if errors or account is None:
        return render(request, "login.html", {"next": target, "errors": errors}, status=401)
    response = RedirectResponse(target, status_code=303)
    # A fresh session (and CSRF token): nothing from before the login carries over.
    sessions(request).write(request, response, new_session(str(account.id)))
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    await checked_form(request)
    response = RedirectResponse("/officer/login", status_code=303)
    sessions(request).clear(response)
    return response

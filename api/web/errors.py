"""How the officer pages answer errors: the one place that maps them, as the API's
api/http/problems.py does for JSON.

- A page route raises; `PageRoute` turns the exception into a page (or a redirect to the login).
- A form collects every problem as `FormErrors`, keyed by the name of the form field it belongs
  to, from pydantic's errors, the ledger's `ValidationFailed` (their `loc`s) and its other
  errors, so each message is shown next to its field.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from api.http.problems import Problem
from api.web.messages import ledger_message, pydantic_message
from ledger.errors import Conflict, Forbidden, LedgerError, NotFound, ValidationFailed
from ledger.values import FieldError

GENERAL = "_form"  # the key of errors that belong to no one field


class LoginRequired(Exception):
    """No valid session: the visitor goes to the login page."""


class CsrfRejected(Exception):
    """A form came back without this session's CSRF token."""


class PageError(Exception):
    """A page that cannot be shown, with its status and a Chinese explanation."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def page_error_of(error: Exception) -> PageError | None:
    """The page an error becomes; None for an error this mapping does not know."""
    if isinstance(error, PageError):
        return error
    if isinstance(error, NotFound | RequestValidationError):
        return PageError(404, "没有找到该记录，或它不在您的辖区。")
    if isinstance(error, Forbidden):
        return PageError(403, "您的账户无权进行此操作。")
    if isinstance(error, CsrfRejected):
        return PageError(403, "表单已过期或来源不明，请返回刷新页面后重试。")
    if isinstance(error, Conflict):
        return PageError(409, f"与台账现有记录冲突：{ledger_message(error.detail)}")
    if isinstance(error, Problem):
        if error.status == 503:
            return PageError(503, "数据视图正在更新，请稍后刷新。")
        return PageError(error.status, ledger_message(error.detail))
    return None


ErrorPage = Callable[[Request, PageError], Response]


def page_route_class(error_page: ErrorPage) -> type[APIRoute]:
    """A route class whose handler answers the errors above as pages."""

    class PageRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()

            async def handle(request: Request) -> Response:
                try:
                    return await handler(request)
                except LoginRequired:
                    return login_redirect(request)
                except Exception as error:
                    page = page_error_of(error)
                    if page is None:
                        raise
                    return error_page(request, page)

            return handle

    return PageRoute


def login_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    location = f"/officer/login?next={quote(target, safe='')}"
    if request.headers.get("hx-request"):
        # htmx would swap the login page into a fragment; make it navigate instead.
        return Response(status_code=200, headers={"HX-Redirect": location})
    return RedirectResponse(location, status_code=303)


class FormErrors:
    """Messages by form field; `GENERAL` holds those that name no field of the form."""

    def __init__(self, fields: Iterable[str], aliases: Mapping[str, str] | None = None) -> None:
        self.fields = set(fields)
        self.aliases = dict(aliases or {})
        self.by_field: dict[str, list[str]] = {}

    def __bool__(self) -> bool:
        return bool(self.by_field)

    def add(self, field: str, message: str) -> None:
        field = self.aliases.get(field, field)
        key = field if field in self.fields else GENERAL
        messages = self.by_field.setdefault(key, [])
        if message not in messages:
            messages.append(message)

    def field_of(self, loc: Sequence[Any]) -> tuple[str, Sequence[Any]]:
        """The form field a `loc` names, and what follows it (e.g. a device's index)."""
        parts = list(loc)
        if parts and parts[0] == "body":
            parts = parts[1:]
        if not parts:
            return GENERAL, ()
        return str(parts[0]), parts[1:]

    def add_loc(self, loc: Sequence[Any], message: str) -> None:
        field, rest = self.field_of(loc)
        if rest and isinstance(rest[0], int):
            where = f"第 {rest[0] + 1} 台设备"
            detail = f"“{rest[1]}”" if len(rest) > 1 else ""
            message = f"{where}{detail}：{message}"
        self.add(field, message)

    def add_pydantic(self, error: ValidationError) -> None:
        for item in error.errors():
            self.add_loc(item["loc"], pydantic_message(item))

    def add_field_errors(self, errors: Iterable[FieldError]) -> None:
        for e in errors:
            self.add_loc(e.loc, ledger_message(e.msg))

    def add_ledger(self, error: LedgerError) -> None:
        """A ledger error from a form's command: each field's messages, or one general one."""
        if isinstance(error, ValidationFailed):
            self.add_field_errors(error.errors)
            return
        page = page_error_of(error)
        self.add(GENERAL, page.message if page else ledger_message(error.detail))

    def get(self, field: str) -> list[str]:
        return self.by_field.get(field, [])

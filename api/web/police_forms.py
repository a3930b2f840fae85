"""The correction-order (责令限期改正) and inspection forms of a system's page.

Each form is checked as the API checks its body (the same schema, then the ledger's own
rules) and written through the same ledger command as POST /v1/systems/{id}/correction-orders
and /inspections. A rejected form comes back on the system's page with every error next to its
field; an accepted one redirects to the page (post/redirect/get).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from pydantic import BaseModel, ValidationError
from starlette.responses import RedirectResponse, Response

from api.core.logs import security_event
from api.http.deps import today
from api.schemas.police import CorrectionOrderCreate, InspectionCreate
from api.web.errors import FormErrors, PageError
from api.web.site import Officer, PageRoute, checked_form, runtime_of
from api.web.systems import system_page
from ledger.errors import LedgerError
from ledger.system_checks import correction_order_errors, inspection_errors
from ledger.units import Verification
from ledger.values import FieldError

router = APIRouter(route_class=PageRoute)


def _submit(
    request: Request,
    account: Any,
    system_id: UUID,
    *,
    form_name: str,
    values: dict[str, Any],
    schema: type[BaseModel],
    semantics: Callable[[dict[str, Any]], list[FieldError]],
    command: Callable[[Any], Any],
) -> Response:
    errors = FormErrors(schema.model_fields)
    body: Any = None
    try:
        body = schema.model_validate(values)
    except ValidationError as invalid:
        errors.add_pydantic(invalid)
    errors.add_field_errors(semantics(values))
    if not errors:
        try:
            command(body)
        except LedgerError as error:
            errors.add_ledger(error)
    if errors:
        return system_page(
            request, account, system_id, forms={form_name: (errors, values)}, status=422
        )
    return RedirectResponse(f"/officer/systems/{system_id}?saved={form_name}", status_code=303)


def _date_or_none(text: Any) -> date | None:
    try:
        return date.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:
        return None


@router.post("/systems/{system_id}/correction-orders")
async def order_correction(request: Request, account: Officer, system_id: UUID) -> Response:
    form = await checked_form(request)
    values = {"reason": str(form.get("reason") or ""), "due_on": str(form.get("due_on") or "")}
    rt = runtime_of(request)
    day = today()

    def command(body: Any) -> Any:
        return rt.ledger.order_correction(
            caller=account, system_id=system_id, reason=body.reason, due_on=body.due_on, today=day
        )

    def semantics(values: dict[str, Any]) -> list[FieldError]:
        return correction_order_errors(due_on=_date_or_none(values["due_on"]), today=day)

    return _submit(
        request,
        account,
        system_id,
        form_name="correction",
        values=values,
        schema=CorrectionOrderCreate,
        semantics=semantics,
        command=command,
    )


@router.post("/systems/{system_id}/inspections")
async def record_inspection(request: Request, account: Officer, system_id: UUID) -> Response:
    form = await checked_form(request)
    values = {
        "inspected_on": str(form.get("inspected_on") or ""),
        "result": str(form.get("result") or ""),
        "note": str(form.get("note") or ""),
    }
    rt = runtime_of(request)
    day = today()

    def command(body: Any) -> Any:
        return rt.ledger.record_inspection(
            caller=account,
            system_id=system_id,
            inspected_on=body.inspected_on,
            result=body.result,
            note=body.note,
            today=day,
        )

    def semantics(values: dict[str, Any]) -> list[FieldError]:
        return inspection_errors(
            inspected_on=_date_or_none(values["inspected_on"]), result=None, today=day
        )

    return _submit(
        request,
        account,
        system_id,
        form_name="inspection",
        values=values,
        schema=InspectionCreate,
        semantics=semantics,
        command=command,
    )


@router.post("/units/{uscc}/verification")
async def decide_verification(request: Request, account: Officer, uscc: str) -> Response:
    """The unit page's confirm/reject form: POST /v1/units/{uscc}/verification's command."""
    form = await checked_form(request)
    decision = str(form.get("decision") or "")
    note = str(form.get("note") or "")[:2000]
    if decision not in ("confirmed", "rejected"):
        raise PageError(422, "请选择确认或驳回。")
    unit = runtime_of(request).ledger.decide_verification(
        caller=account, uscc=uscc, decision=Verification(decision), note=note, today=today()
    )
    security_event("unit_verification", account_id=str(account.id), uscc=unit.uscc,
                   decision=decision, via="pages")  # fmt: skip
    return RedirectResponse(f"/officer/units/{unit.uscc}?saved=verification", status_code=303)

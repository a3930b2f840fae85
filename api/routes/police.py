"""The police side: discoveries, correction orders (责令限期改正) and inspections.

Each is a creating write (201, Idempotency-Key, no If-Match) answered with the system's new
state. Only an officer of the system's district may write here: a caller who cannot see the
system gets 404 as if it did not exist, one who can but is no officer gets 403.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.core.logs import security_event
from api.http.deps import (
    Caller,
    IdempotencyKey,
    IfMatch,
    RuntimeDep,
    Today,
    expected_version,
    request_key,
    today,
)
from api.http.problems import Problem
from api.routes.common import PROBLEMS, system_response
from api.schemas.police import CorrectionOrderCreate, DiscoveryCreate, InspectionCreate
from api.schemas.systems import MoveRequest, SystemPublic
from ledger.access import may_record_police_act
from ledger.system_checks import correction_order_errors, inspection_errors
from ledger.values import FieldError

router = APIRouter(prefix="/v1", tags=["police"])
CREATE_PROBLEMS: dict[int | str, dict[str, Any]] = {
    **PROBLEMS,
    403: {
        "description": "the caller sees the system but is no officer of its district",
        "content": {"application/problem+json": {}},
    },
}


@router.post(
    "/discoveries", status_code=201, response_model=SystemPublic, responses=CREATE_PROBLEMS
)
def discover(
    request: Request,
    body: DiscoveryCreate,
    rt: RuntimeDep,
    caller: Caller,
    today: Today,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """An officer records a system found in use that was never filed (status `unfiled`)."""
    if not may_record_police_act(caller, division_code=body.division_code):
        raise Problem(403, "only an officer of that district records a discovery")
    outcome = rt.ledger.discover_system(
        caller=caller,
        facts=body.model_dump(exclude={"note"}),
        note=body.note,
        today=today,
        request=request_key(request, body.model_dump(mode="json"), idempotency_key),
    )
    return system_response(rt, outcome.aggregate, today, status=201, location=True)


@router.post(
    "/systems/{system_id}/correction-orders",
    status_code=201,
    response_model=SystemPublic,
    responses=CREATE_PROBLEMS,
)
def order_correction(
    system_id: UUID,
    request: Request,
    body: CorrectionOrderCreate,
    rt: RuntimeDep,
    caller: Caller,
    today: Today,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """An officer orders the unit to correct its filing by `due_on` (after today). The order's
    `order_id` is in the system's `correction_orders` and in its history."""
    outcome = rt.ledger.order_correction(
        caller=caller,
        system_id=system_id,
        reason=body.reason,
        due_on=body.due_on,
        today=today,
        request=request_key(request, body.model_dump(mode="json"), idempotency_key),
    )
    return system_response(rt, outcome.aggregate, today, status=201, location=True)


@router.post(
    "/systems/{system_id}/inspections",
    status_code=201,
    response_model=SystemPublic,
    responses=CREATE_PROBLEMS,
)
def record_inspection(
    system_id: UUID,
    request: Request,
    body: InspectionCreate,
    rt: RuntimeDep,
    caller: Caller,
    today: Today,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """An officer records an inspection made on `inspected_on` (today or earlier): what stands
    matched the filing (`consistent`) or did not (`discrepancy`)."""
    outcome = rt.ledger.record_inspection(
        caller=caller,
        system_id=system_id,
        inspected_on=body.inspected_on,
        result=body.result,
        note=body.note,
        today=today,
        request=request_key(request, body.model_dump(mode="json"), idempotency_key),
    )
    return system_response(rt, outcome.aggregate, today, status=201, location=True)


# --- the domain's checks on a body that also failed its schema (see api.http.problems.install) ----
def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def correction_order_semantics(request: Request, body: Any) -> list[FieldError]:
    return correction_order_errors(due_on=_date(body.get("due_on")), today=today())


def inspection_semantics(request: Request, body: Any) -> list[FieldError]:
    return inspection_errors(
        inspected_on=_date(body.get("inspected_on")), result=None, today=today()
    )


SEMANTIC_CHECKS = {
    ("POST", "/v1/systems/{system_id}/correction-orders"): correction_order_semantics,
    ("POST", "/v1/systems/{system_id}/inspections"): inspection_semantics,
}


@router.post(
    "/systems/{system_id}/move",
    response_model=SystemPublic,
    responses={
        **CREATE_PROBLEMS,
        412: {
            "description": "If-Match names another version",
            "content": {"application/problem+json": {}},
        },
        428: {"description": "If-Match is missing", "content": {"application/problem+json": {}}},
    },
)
def move_system(
    system_id: UUID,
    body: MoveRequest,
    rt: RuntimeDep,
    caller: Caller,
    today: Today,
    if_match: IfMatch = None,
) -> JSONResponse:
    """An officer of the system's district moves it to another district, recorded as its own
    event (`moved`). Both districts' officers see its history up to the move (the audit
    keeps the district it left); after it, only the new district's officers see the system."""
    system = rt.ledger.move_system(
        caller=caller,
        system_id=system_id,
        expected_version=expected_version(if_match),
        division_code=body.division_code,
        reason=body.reason,
        today=today,
    )
    security_event("system_moved", account_id=str(caller.id), system_id=str(system_id),
                   division_code=body.division_code)  # fmt: skip
    return system_response(rt, system, today)

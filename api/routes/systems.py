"""Systems: filing, reading (now and as of an instant), listing, changing, cancelling."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from api.http.deps import (
    Caller,
    IdempotencyKey,
    IfMatch,
    QueryInstant,
    RuntimeDep,
    Today,
    expected_version,
    request_key,
)
from api.http.problems import Problem
from api.queries import systems as reads
from api.routes.common import PROBLEMS, WRITE_PROBLEMS, system_response
from api.schemas.systems import (
    CancelRequest,
    ChangeRequest,
    HistoryPage,
    SystemCreate,
    SystemPage,
    SystemPublic,
)
from api.sheets.uploads import devices_from_sheet

router = APIRouter(prefix="/v1", tags=["systems"])


@router.post("/systems", status_code=201, response_model=SystemPublic, responses=WRITE_PROBLEMS)
def file_system(
    request: Request,
    body: SystemCreate,
    rt: RuntimeDep,
    caller: Caller,
    today: Today,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Files a system: online by a unit's account, offline by an officer (with the paper
    form's scan as `paper_form_id`). Naming `discovered_system_id` files a discovered system.
    The devices come as a list or from an uploaded xlsx or CSV sheet (`device_sheet_id`)."""
    fields = body.model_dump(
        include=set(SystemCreate.model_fields)
        - {
            "devices",
            "device_sheet_id",
            "paper_form_id",
            "discovered_system_id",
            "acknowledged_instructions",
        }
    )
    devices: list[dict[str, Any]] = [d.model_dump() for d in body.devices]
    if body.device_sheet_id is not None:
        devices = devices_from_sheet(
            rt.ledger,
            caller,
            body.device_sheet_id,
            listed=len(devices),
            fields=fields,
            rules=rt.ledger.field_rules(today),
        )
    outcome = rt.ledger.file_system(
        caller=caller,
        fields=fields,
        devices=devices,
        today=today,
        discovered_system_id=body.discovered_system_id,
        paper_form_id=body.paper_form_id,
        device_sheet_id=body.device_sheet_id,
        request=request_key(request, body.model_dump(mode="json"), idempotency_key),
    )
    return system_response(
        rt, outcome.aggregate, today, status=201, location=True, unit_verification=True
    )


@router.get("/systems/{system_id}", response_model=SystemPublic, responses=PROBLEMS)
def read_system(
    system_id: UUID,
    rt: RuntimeDep,
    caller: Caller,
    today: Today,
    as_of: Annotated[QueryInstant | None, Query(description="an RFC 3339 instant")] = None,
) -> JSONResponse:
    """The system now, or exactly as the ledger knew it at `as_of` (404 before it existed)."""
    if as_of is not None and as_of.tzinfo is None:
        raise Problem(422, "as_of needs an offset, e.g. 2025-05-01T12:00:00+08:00")
    return system_response(rt, reads.find_system(rt, caller, system_id, as_of=as_of), today)


@router.get("/systems", response_model=SystemPage, responses=PROBLEMS)
def list_all(
    rt: RuntimeDep,
    caller: Caller,
    today: Today,
    division_code: str | None = None,
    unit_uscc: str | None = None,
    status: Literal["filed", "cancelled", "unfiled"] | None = None,
    place_category: Annotated[int | None, Query(ge=1, le=5)] = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    """Systems in the caller's scope, in filing order; reads every write made before it."""
    filters = reads.system_filters(
        division_code=division_code,
        unit_uscc=unit_uscc,
        status=status,
        place_category=place_category,
        q=q,
    )
    return dict(
        reads.systems_page(rt, caller, filters=filters, cursor=cursor, limit=limit, today=today)
    )


@router.post(
    "/systems/{system_id}/changes", response_model=SystemPublic, responses={**WRITE_PROBLEMS}
)
def change_system(
    system_id: UUID,
    body: ChangeRequest,
    rt: RuntimeDep,
    caller: Caller,
    today: Today,
    if_match: IfMatch = None,
) -> JSONResponse:
    """Files a change (备案变更) through the channel the system was filed by."""
    system = rt.ledger.change_system(
        caller=caller,
        system_id=system_id,
        expected_version=expected_version(if_match),
        effective_on=body.effective_on,
        reason=body.reason,
        changes=body.changes.model_dump(exclude_unset=True),
        devices_added=[d.model_dump() for d in body.devices_added],
        devices_removed=body.devices_removed,
        today=today,
    )
    return system_response(rt, system, today)


@router.post(
    "/systems/{system_id}/cancellation", response_model=SystemPublic, responses=WRITE_PROBLEMS
)
def cancel_system(
    system_id: UUID,
    body: CancelRequest,
    rt: RuntimeDep,
    caller: Caller,
    today: Today,
    if_match: IfMatch = None,
) -> JSONResponse:
    """Cancels the system (注销). Nothing can follow."""
    system = rt.ledger.cancel_system(
        caller=caller,
        system_id=system_id,
        expected_version=expected_version(if_match),
        effective_on=body.effective_on,
        reason=body.reason,
        today=today,
    )
    return system_response(rt, system, today)


@router.get("/systems/{system_id}/history", response_model=HistoryPage, responses=PROBLEMS)
def system_history(system_id: UUID, rt: RuntimeDep, caller: Caller) -> dict[str, Any]:
    """Every event of the system in order: who, what, when, through which channel, and its
    link in the ledger's hash chain (`hash`, `prev_hash`: see `psvs-ledger verify`)."""
    return {"items": reads.system_history(rt, caller, system_id)}

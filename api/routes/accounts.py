"""Accounts, attachments and units."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request, Response, UploadFile
from fastapi.concurrency import run_in_threadpool

from api.auth import new_token
from api.deps import Caller, IdempotencyKey, RuntimeDep, Today, request_key
from api.problems import Problem
from api.render import unit_public
from api.schemas import (
    AccountCreate,
    AccountCreated,
    AgentAdd,
    AttachmentPublic,
    UnitCreate,
    UnitPublic,
)
from ledger.attachments import MAX_ATTACHMENT_BYTES, sniff_media_type
from ledger.values import FieldError, Role

router = APIRouter(prefix="/v1")
PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"description": text, "content": {"application/problem+json": {}}}
    for code, text in {
        401: "no or bad bearer token",
        404: "absent, or outside the caller's scope",
        409: "conflicts with the ledger's state",
        413: "the upload is larger than 102,400 bytes",
        422: "invalid fields, each named in `errors`",
    }.items()
}


@router.post(
    "/accounts",
    status_code=201,
    response_model=AccountCreated,
    responses=PROBLEMS,
    tags=["accounts"],
)
def create_account(body: AccountCreate, rt: RuntimeDep, today: Today) -> dict[str, Any]:
    """Opens a unit-side account (a person or a legal person) and returns its token once."""
    token, digest = new_token()
    account = rt.ledger.open_account(
        token_sha256=digest,
        role=Role(body.kind),
        name=body.name,
        phone=body.phone,
        id_number=body.id_number,
        uscc=body.uscc,
        today=today,
    )
    return {"account_id": account.id, "token": token}


@router.post(
    "/attachments",
    status_code=201,
    response_model=AttachmentPublic,
    responses=PROBLEMS,
    tags=["attachments"],
)
async def upload_attachment(
    request: Request, file: UploadFile, rt: RuntimeDep, caller: Caller
) -> dict[str, Any]:
    """Stores a PDF, JPEG, PNG, XLSX or CSV of at most 102,400 bytes."""
    extra = sorted(set((await request.form()).keys()) - {"file"})
    if extra:  # the form has one field: anything else is a mistake, named like any bad field
        raise Problem(
            422,
            "the form has one field, `file`",
            errors=[FieldError(("body", name), "not a field of this form") for name in extra],
        )
    content = await file.read(MAX_ATTACHMENT_BYTES + 1)
    if len(content) > MAX_ATTACHMENT_BYTES:
        raise Problem(413, f"an attachment may not exceed {MAX_ATTACHMENT_BYTES} bytes")
    media_type = sniff_media_type(content)
    if media_type is None:
        raise Problem(415, "only PDF, JPEG, PNG, XLSX or CSV files are accepted")
    attachment = await run_in_threadpool(
        rt.ledger.upload,
        caller=caller,
        content=content,
        media_type=media_type,
        filename=(file.filename or "upload")[:200],
    )
    return {
        "attachment_id": attachment.id,
        "sha256": attachment.sha256,
        "size": attachment.size,
        "media_type": attachment.media_type,
    }


@router.post(
    "/units", status_code=201, response_model=UnitPublic, responses=PROBLEMS, tags=["units"]
)
def register_unit(
    request: Request,
    response: Response,
    body: UnitCreate,
    rt: RuntimeDep,
    caller: Caller,
    today: Today,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Registers a management unit; the caller becomes its agent. 409 if already registered."""
    fields = body.model_dump(exclude={"acknowledged_instructions"})
    outcome = rt.ledger.register_unit(
        caller=caller,
        fields=fields,
        today=today,
        request=request_key(request, body.model_dump(mode="json"), idempotency_key),
    )
    response.headers["Location"] = f"/v1/units/{outcome.aggregate.uscc}"
    return unit_public(outcome.aggregate, caller)


@router.get("/units/{uscc}", response_model=UnitPublic, responses=PROBLEMS, tags=["units"])
def read_unit(uscc: str, rt: RuntimeDep, caller: Caller) -> dict[str, Any]:
    return unit_public(rt.ledger.unit_for(caller, uscc), caller)


@router.post(
    "/units/{uscc}/agents",
    status_code=201,
    response_model=UnitPublic,
    responses=PROBLEMS,
    tags=["units"],
)
def add_agent(
    uscc: str, body: AgentAdd, rt: RuntimeDep, caller: Caller, today: Today
) -> dict[str, Any]:
    """Adds a person account as the unit's agent on its stamped authorisation letter.

    The unit's agents, its legal-person account or an officer of its district add agents."""
    unit = rt.ledger.authorise_agent(
        caller=caller,
        uscc=uscc,
        account_id=body.account_id or UUID(str(caller.id)),
        authorization_letter_id=body.authorization_letter_id,
        today=today,
    )
    return unit_public(unit, caller)

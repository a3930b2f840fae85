"""Accounts, attachments and units."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response, UploadFile
from fastapi.concurrency import run_in_threadpool

from api.core.logs import security_event
from api.core.runtime import Runtime
from api.http.deps import Caller, IdempotencyKey, RuntimeDep, Today, request_key
from api.http.problems import Problem
from api.identity.tokens import new_token
from api.middleware.limits import upload_quota
from api.queries.render import unit_public
from api.queries.units import unit_detail, units_list
from api.routes.common import PROBLEMS
from api.schemas.accounts import (
    AccountCreate,
    AccountCreated,
    AccountMe,
    LegalPersonAccountCreate,
    VerificationDecision,
)
from api.schemas.units import AgentAdd, AttachmentPublic, UnitCreate, UnitList, UnitPublic
from ledger.attachments import MAX_ATTACHMENT_BYTES, sniff_media_type
from ledger.units import Verification
from ledger.values import FieldError, Role

router = APIRouter(prefix="/v1")


@router.post(
    "/accounts",
    status_code=201,
    response_model=AccountCreated,
    responses=PROBLEMS,
    tags=["accounts"],
)
def create_account(body: AccountCreate, rt: RuntimeDep, today: Today) -> dict[str, Any]:
    """Opens a person account (an agent-to-be) and returns its token once.

    It acts for no unit until it is recorded as one's agent (it registers a unit on a stamped
    letter, pending verification, or is added as an agent). `kind: legal_person` or a `uscc`
    is refused with 422: a unit's legal-person account is opened by an officer of its district
    (`POST /v1/units/{uscc}/legal-person-accounts`) or from the configured OpenID provider."""
    token, digest = new_token()
    account = rt.ledger.open_account(
        token_sha256=digest,
        role=Role.PERSON,
        name=body.name,
        phone=body.phone,
        id_number=body.id_number,
        today=today,
    )
    return _created(rt, account.id, digest, token)


def _created(rt: Runtime, account_id: UUID, digest: str, token: str) -> dict[str, Any]:
    credential = rt.ledger.credential_for_token(digest)
    expires_at = None if credential is None else credential.expires_at
    return {"account_id": account_id, "token": token, "expires_at": expires_at}


@router.get("/accounts/me", response_model=AccountMe, responses=PROBLEMS, tags=["accounts"])
def read_me(request: Request, rt: RuntimeDep, caller: Caller) -> dict[str, Any]:
    """The caller's account: its role, district or bound unit, the units it is an agent of,
    and when the token it used expires."""
    credential = rt.ledger.credential_for_token(request.state.token_sha256)
    return {
        "account_id": caller.id,
        "role": str(caller.role),
        "name": caller.name,
        "division_code": caller.division_code,
        "uscc": caller.uscc,
        "agent_of": sorted(caller.agent_of),
        "disabled": caller.disabled,
        "token_expires_at": None if credential is None else credential.expires_at,
    }


@router.post(
    "/accounts/me/token",
    status_code=201,
    response_model=AccountCreated,
    responses=PROBLEMS,
    tags=["accounts"],
)
def rotate_token(request: Request, rt: RuntimeDep, caller: Caller) -> dict[str, Any]:
    """A new token for the caller, shown once; the token used for this request is revoked in
    the same transaction (401 from now on, in every process within a second)."""
    old = request.state.token_sha256
    token, digest = new_token()
    rt.ledger.rotate_token(caller=caller, old_token_sha256=old, new_token_sha256=digest)
    request.app.state.authenticator.forget(old)
    security_event("token_rotated", account_id=str(caller.id), role=str(caller.role))
    return _created(rt, caller.id, digest, token)


@router.post(
    "/attachments",
    status_code=201,
    response_model=AttachmentPublic,
    responses={
        **PROBLEMS,
        429: {
            "description": "over the account's daily upload quota (count or bytes) or the"
            " address's upload rate; `Retry-After` says when to try again",
            "content": {"application/problem+json": {}},
        },
    },
    tags=["attachments"],
)
async def upload_attachment(
    request: Request, file: UploadFile, rt: RuntimeDep, caller: Caller
) -> dict[str, Any]:
    """Stores a PDF, JPEG, PNG, XLSX or CSV of at most 102,400 bytes.

    The bytes go to the blob store (the log records the hash, size and type). An upload that
    no registration or filing names within `LEDGER_ATTACHMENT_RETENTION_DAYS` is collected;
    naming it afterwards is 422 (upload it again). Each account may upload
    `LEDGER_UPLOADS_PER_DAY` files and `LEDGER_UPLOAD_BYTES_PER_DAY` bytes in any 24 hours:
    past that, 429 with `Retry-After`."""
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
    quota = upload_quota(request.app.state, request.app.state.settings, rt.reads)
    refusal = await run_in_threadpool(quota.take, str(caller.id), len(content))
    if refusal is not None:
        raise refusal
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


@router.get("/units", response_model=UnitList, responses=PROBLEMS, tags=["units"])
def list_units(
    rt: RuntimeDep,
    caller: Caller,
    verification: Annotated[
        Literal["pending", "confirmed", "rejected"] | None,
        Query(description="only units in this state (officers: `pending` is the work list)"),
    ] = None,
) -> dict[str, Any]:
    """The units in the caller's reach, in the order registered (at most 1,000)."""
    return {"items": units_list(rt, caller, verification=verification)}


@router.get("/units/{uscc}", response_model=UnitPublic, responses=PROBLEMS, tags=["units"])
def read_unit(uscc: str, rt: RuntimeDep, caller: Caller) -> dict[str, Any]:
    return unit_detail(rt, caller, uscc)


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


@router.delete(
    "/units/{uscc}/agents/{account_id}",
    response_model=UnitPublic,
    responses=PROBLEMS,
    tags=["units"],
)
def remove_agent(
    uscc: str, account_id: UUID, rt: RuntimeDep, caller: Caller, today: Today
) -> dict[str, Any]:
    """Ends an agent's authority over the unit: by the unit's legal-person account, one of its
    agents, or an officer of its district. The agent is refused within a second."""
    unit = rt.ledger.remove_agent(
        caller=caller, uscc=uscc, account_id=account_id, reason="", today=today
    )
    security_event("agent_removed", account_id=str(caller.id), agent=str(account_id), uscc=uscc)
    return unit_public(unit, caller)


@router.post(
    "/units/{uscc}/verification",
    response_model=UnitPublic,
    responses=PROBLEMS,
    tags=["units"],
)
def decide_verification(
    uscc: str, body: VerificationDecision, rt: RuntimeDep, caller: Caller, today: Today
) -> dict[str, Any]:
    """Confirms or rejects a registration an agent made (`verification: pending`): an officer
    of the district after seeing the stamped letter, or the unit's legal-person account. A
    rejection removes every agent; the filings made meanwhile stay in the log. 409 unless
    pending."""
    unit = rt.ledger.decide_verification(
        caller=caller,
        uscc=uscc,
        decision=Verification(body.decision),
        note=body.note,
        today=today,
    )
    security_event(
        "unit_verification", account_id=str(caller.id), uscc=uscc, decision=body.decision
    )
    return unit_public(unit, caller)


@router.post(
    "/units/{uscc}/legal-person-accounts",
    status_code=201,
    response_model=AccountCreated,
    responses=PROBLEMS,
    tags=["units"],
)
def open_legal_person_account(
    uscc: str, body: LegalPersonAccountCreate, rt: RuntimeDep, caller: Caller, today: Today
) -> dict[str, Any]:
    """Opens the unit's legal-person account, bound to its USCC, after an officer of the unit's
    district checked the business licence at the window (`business_licence_id`, uploaded by
    the officer). The unit's district is its registered one, or, before it is registered,
    the division in its USCC. The token is shown once."""
    token, digest = new_token()
    account = rt.ledger.open_legal_person_account(
        caller=caller,
        uscc=uscc,
        name=body.name,
        phone=body.phone,
        business_licence_id=body.business_licence_id,
        token_sha256=digest,
        today=today,
    )
    security_event("legal_person_account_opened", account_id=str(caller.id),
                   opened=str(account.id), uscc=account.uscc)  # fmt: skip
    return _created(rt, account.id, digest, token)

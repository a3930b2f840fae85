"""The ledger as a whole: `GET /v1/ledger/verification` checks its hash chain."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from api.core.logs import security_event
from api.core.settings import Settings
from api.http.deps import Caller, RuntimeDep
from api.middleware.concurrency import Slots, slots_of
from api.queries.verification import public_report, signer_of, verify
from ledger.access import may_verify_ledger
from ledger.errors import Forbidden, NotFound

router = APIRouter(prefix="/v1/ledger", tags=["ledger"])
VERIFICATION_RETRY_SECONDS = 10
PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"description": text, "content": {"application/problem+json": {}}}
    for code, text in {
        401: "no or bad bearer token",
        403: "an officer: only auditors and admins verify the ledger",
        404: "a unit-side account: there is no such resource for it",
        429: "a verification by this account (or too many in all) is already running",
    }.items()
}


def _verifications(settings: Settings) -> Slots:
    return Slots(per_key=1, total=settings.verifications_at_once, what="chain verifications",
                 retry_after=VERIFICATION_RETRY_SECONDS)  # fmt: skip


@router.get("/verification", responses=PROBLEMS)
async def verification(request: Request, rt: RuntimeDep, caller: Caller) -> dict[str, Any]:
    """Recomputes the whole hash chain from the log and checks every signed checkpoint.

    `verified` is false when an event was changed, deleted, inserted or reordered, or a
    checkpoint's signature does not hold; `first_bad_position` and `problem` say where and what.
    Events the chain view has not reached yet are counted in `unlinked`, not judged. The
    checkpoints' public key is in `checkpoints.public_key` (raw Ed25519, base64). An account
    runs one verification at a time, and a process at most `LEDGER_VERIFICATIONS_AT_ONCE`
    (2): past either, 429 with `Retry-After`."""
    if caller.role.is_unit_side:
        raise NotFound("no such resource")
    if not may_verify_ledger(caller):
        raise Forbidden("only auditors and admins verify the ledger")
    running = slots_of(request.app, "verifications", _verifications)
    with running.hold(str(caller.id)):  # 429: one per account, a few in all
        result = await run_in_threadpool(verify, rt)
    security_event("ledger_verified", account_id=str(caller.id), role=str(caller.role),
                   verified=result.verified)  # fmt: skip
    return public_report(result, signer_of(rt))

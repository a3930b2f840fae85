"""Signing in with the trusted OpenID provider: an ID token binds a unit's legal-person account."""

from __future__ import annotations

from threading import Lock
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import Field

from api.core.logs import log
from api.core.settings import Settings
from api.http.deps import RuntimeDep, Today
from api.http.problems import Problem
from api.identity.oidc import MAX_TOKEN_CHARS, OidcVerifier
from api.identity.tokens import new_token
from api.schemas.accounts import AccountCreated
from api.schemas.base import Strict, examples

router = APIRouter(prefix="/v1")
PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"description": text, "content": {"application/problem+json": {}}}
    for code, text in {
        401: "the ID token is not valid: the detail names what was wrong",
        403: "the account bound to this subject is disabled",
        404: "no OpenID provider is configured",
        409: "this OpenID subject is already bound to another unit",
        422: "invalid body, or the token's USCC claim is not a valid USCC (named `id_token`)",
        503: "the OpenID provider's metadata or keys cannot be fetched; see Retry-After",
    }.items()
}
_CREATE = Lock()


class OidcSignIn(Strict):
    model_config = examples(
        {"id_token": "eyJhbGciOiJSUzI1NiIsImtpZCI6ImtleS0xIn0.eyJzdWIiOiJ6aGFuZyJ9.c2lnbmF0dXJl"}
    )

    id_token: str = Field(
        min_length=1,
        max_length=MAX_TOKEN_CHARS,
        description="an ID token of the configured provider, issued to this service's client id",
    )


async def oidc_verifier(request: Request) -> OidcVerifier:
    """The app's verifier (it caches the provider's keys); 404 when no provider is configured.
    A dependency, so the 404 comes before any check of the body."""
    settings: Settings = request.app.state.settings
    if not settings.oidc_issuer or not settings.oidc_client_id:
        raise Problem(404, "no OpenID provider is configured")
    found: OidcVerifier | None = getattr(request.app.state, "oidc_verifier", None)
    if found is None:
        with _CREATE:
            found = getattr(request.app.state, "oidc_verifier", None)
            if found is None:
                found = request.app.state.oidc_verifier = OidcVerifier.from_settings(settings)
    return found


Verifier = Annotated[OidcVerifier, Depends(oidc_verifier)]


@router.post(
    "/accounts/oidc",
    status_code=201,
    response_model=AccountCreated,
    responses=PROBLEMS,
    tags=["accounts"],
)
def sign_in_with_oidc(
    body: OidcSignIn, verifier: Verifier, rt: RuntimeDep, today: Today
) -> dict[str, Any]:
    """Opens, or signs in to, the legal-person account of the ID token's subject, bound to the
    USCC in its configured claim, and returns a new token once. No bearer token is needed:
    the provider's signature is the proof."""
    try:
        identity = verifier.verify(body.id_token)
    except Problem as problem:
        log.info("oidc_refused", status=problem.status, reason=problem.detail)
        raise
    token, digest = new_token()
    account = rt.ledger.oidc_account(
        issuer=identity.issuer,
        subject=identity.subject,
        uscc=identity.uscc,
        name=identity.name,
        token_sha256=digest,
        today=today,
    )
    credential = rt.ledger.credential_for_token(digest)  # for the expiry it was issued with
    expires_at = None if credential is None else credential.expires_at
    return {"account_id": account.id, "token": token, "expires_at": expires_at}

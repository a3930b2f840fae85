"""POST /v1/accounts/oidc against a real OpenID provider (tests/oidc_provider/provider.mjs).

The accepted tokens are the provider's own, obtained through its authorization-code flow. The
refused ones are the provider's too where it can issue them (another client's token, a subject
without a USCC or with a malformed one); the rest are crafted here to differ from a genuine
token in one thing only: the same claims signed with the provider's own key but another
issuer, or expired, or signed by another key, or with `alg: none`. A control test shows such a
crafted copy is accepted when nothing is changed, so each refusal is the changed thing's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import RSAKey
from pydantic import ValidationError

from api.app import create_app
from api.core.runtime import Runtime
from api.core.settings import Settings
from api.identity.oidc import CACHE_SECONDS, REFETCH_SECONDS, OidcVerifier
from tests.support.http import assert_problem, auth, names_field, unit_body
from tests.support.oidc import (
    ANOTHER,
    BAD_USCC,
    NO_USCC,
    SECOND_UNIT_USCC,
    UNIT,
    UNIT_USCC,
    Provider,
    running_provider,
)

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="session")
def provider() -> Iterator[Provider]:
    with running_provider() as started:
        yield started


@pytest.fixture
def oidc_settings(settings: Settings, provider: Provider) -> Settings:
    return settings.model_copy(
        update={"oidc_issuer": provider.issuer, "oidc_client_id": "psvs-ledger"}
    )


@pytest.fixture
def client(oidc_settings: Settings, runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(oidc_settings, runtime=runtime)) as test_client:
        yield test_client


# --- helpers ---------------------------------------------------------------------------------


def sign_in(client: TestClient, id_token: str) -> Any:
    return client.post("/v1/accounts/oidc", json={"id_token": id_token})


def claims_of(id_token: str) -> dict[str, Any]:
    """A token's claims, read without checking anything (to copy them)."""
    payload = id_token.split(".")[1]
    padded = payload + "=" * (-len(payload) % 4)
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(padded))
    return claims


def provider_key(provider: Provider) -> RSAKey:
    return RSAKey.import_key(provider.signing_key())


def resigned(provider: Provider, id_token: str, **changes: Any) -> str:
    """The token's claims with `changes` (None removes a claim), signed with the provider's key."""
    claims = {k: v for k, v in {**claims_of(id_token), **changes}.items() if v is not None}
    key = provider_key(provider)
    return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key, algorithms=["RS256"])


def event_count(settings: Settings) -> int:
    assert settings.database_url is not None
    with psycopg.connect(settings.database_url) as conn:
        row = conn.execute("SELECT count(*) FROM ledger_events").fetchone()
    assert row is not None
    return int(row[0])


def b64(data: dict[str, Any] | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def tampered(id_token: str, **changes: Any) -> str:
    """The token with its claims changed and its signature kept."""
    header, _, signature = id_token.split(".")
    return f"{header}.{b64({**claims_of(id_token), **changes})}.{signature}"


def hs256(header: dict[str, Any], claims: dict[str, Any], secret: bytes) -> str:
    """A JWT MACed with HS256 by hand (joserfc rightly refuses a public key as an HMAC key)."""
    signing_input = f"{b64({**header, 'alg': 'HS256'})}.{b64(claims)}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


# --- accepted --------------------------------------------------------------------------------


def test_a_providers_id_token_opens_the_units_legal_person_account(
    client: TestClient, provider: Provider
) -> None:
    response = sign_in(client, provider.id_token(UNIT))
    assert response.status_code == 201, response.text
    created = response.json()
    assert {"account_id", "token"} <= set(created)  # AccountCreated, as POST /v1/accounts
    token = created["token"]

    assert_problem(client.get(f"/v1/units/{UNIT_USCC}", headers=auth(token)), 404)
    # The account is the unit's legal person: it registers its own unit without a letter.
    registered = client.post("/v1/units", json=unit_body(UNIT_USCC), headers=auth(token))
    assert registered.status_code == 201, registered.text
    unit = registered.json()
    assert unit["uscc"] == UNIT_USCC
    if "verification" in unit:
        assert unit["verification"] == "confirmed"
    assert client.get(f"/v1/units/{UNIT_USCC}", headers=auth(token)).status_code == 200
    assert client.get("/v1/systems", headers=auth(token)).status_code == 200


def test_the_same_subject_signing_in_again_gets_the_same_account_and_a_new_token(
    client: TestClient, provider: Provider
) -> None:
    first = sign_in(client, provider.id_token(UNIT))
    second = sign_in(client, provider.id_token(UNIT))
    assert first.status_code == second.status_code == 201, (first.text, second.text)
    assert first.json()["account_id"] == second.json()["account_id"]
    assert first.json()["token"] != second.json()["token"]
    registered = client.post(
        "/v1/units", json=unit_body(UNIT_USCC), headers=auth(second.json()["token"])
    )
    assert registered.status_code == 201, registered.text


def test_another_subject_gets_another_account(client: TestClient, provider: Provider) -> None:
    first = sign_in(client, provider.id_token(UNIT))
    second = sign_in(client, provider.id_token("unit-nanan-2"))
    assert first.status_code == second.status_code == 201
    assert first.json()["account_id"] != second.json()["account_id"]
    token = second.json()["token"]
    # It is bound to its own unit, not to the first one.
    refused = client.post("/v1/units", json=unit_body(UNIT_USCC), headers=auth(token))
    assert refused.status_code == 422, refused.text
    assert names_field(refused.json(), "authorization_letter_id")
    own = client.post("/v1/units", json=unit_body(SECOND_UNIT_USCC), headers=auth(token))
    assert own.status_code == 201, own.text


def test_a_copy_of_a_genuine_token_signed_with_the_providers_key_is_accepted(
    client: TestClient, provider: Provider
) -> None:
    """The control of the crafted refusals below: re-signing alone changes nothing."""
    response = sign_in(client, resigned(provider, provider.id_token(UNIT)))
    assert response.status_code == 201, response.text


# --- refused, and nothing written ------------------------------------------------------------


def _refusals(provider: Provider) -> dict[str, tuple[str, str]]:
    """Each refused token and a phrase its 401 problem's detail contains."""
    genuine = provider.id_token(UNIT)
    now = int(time.time())
    key = provider_key(provider)
    stranger = RSAKey.generate_key(2048, parameters={"kid": str(key.kid)}, private=True)
    unknown_kid = RSAKey.generate_key(2048, parameters={"kid": "someone-else"}, private=True)
    claims = claims_of(genuine)
    header = {"alg": "RS256", "kid": key.kid}
    public_pem = key.as_pem(private=False)  # what an algorithm-confusion attack keys HMAC with
    return {
        "another client's token": (provider.id_token(UNIT, ANOTHER), "another client"),
        "wrong issuer": (resigned(provider, genuine, iss="http://127.0.0.1:1"), "issued by"),
        "expired": (resigned(provider, genuine, iat=now - 7200, exp=now - 3600), "expired"),
        "not valid yet": (resigned(provider, genuine, nbf=now + 3600), "not valid yet"),
        "issued in the future": (resigned(provider, genuine, iat=now + 3600), "future"),
        "no exp": (resigned(provider, genuine, exp=None), "exp"),
        "no sub": (resigned(provider, genuine, sub=None), "sub"),
        "several audiences, no azp": (
            resigned(provider, genuine, aud=["psvs-ledger", "another-portal"]),
            "azp",
        ),
        "another key, same kid": (
            jwt.encode(header, claims, stranger, algorithms=["RS256"]),
            "signature is not the provider's",
        ),
        "another key, unknown kid": (
            jwt.encode(
                {"alg": "RS256", "kid": "someone-else"}, claims, unknown_kid, algorithms=["RS256"]
            ),
            "does not publish",
        ),
        "alg none": (f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}.", "'none'"),
        "HS256 keyed with the public key": (hs256(header, claims, public_pem), "'HS256'"),
        "tampered claims": (
            tampered(genuine, uscc=SECOND_UNIT_USCC),
            "signature is not the provider's",
        ),
        "an access token's type": (
            jwt.encode({**header, "typ": "at+jwt"}, claims, key, algorithms=["RS256"]),
            "an ID token is expected",
        ),
        "no USCC claim": (provider.id_token(NO_USCC), "no 'uscc' claim"),
        "not a JWT": ("not-a-jwt", "not a signed JWT"),
    }


def test_every_bad_token_is_a_401_naming_what_was_wrong_and_writes_nothing(
    client: TestClient, provider: Provider, oidc_settings: Settings
) -> None:
    before = event_count(oidc_settings)
    for case, (token, phrase) in _refusals(provider).items():
        problem = assert_problem(sign_in(client, token), 401)
        assert phrase in problem["detail"], (case, problem)
    assert event_count(oidc_settings) == before


def test_a_malformed_uscc_in_a_genuine_token_is_a_422_naming_id_token(
    client: TestClient, provider: Provider, oidc_settings: Settings
) -> None:
    """The provider's signature is good, so the token is not refused as false (401): its
    content is invalid, named like any invalid field."""
    before = event_count(oidc_settings)
    problem = assert_problem(sign_in(client, provider.id_token(BAD_USCC)), 422)
    assert names_field(problem, "body", "id_token"), problem
    assert event_count(oidc_settings) == before


def test_a_subject_bound_to_one_unit_cannot_bind_another(
    client: TestClient, provider: Provider, oidc_settings: Settings
) -> None:
    genuine = provider.id_token(UNIT)
    assert sign_in(client, genuine).status_code == 201
    before = event_count(oidc_settings)
    assert_problem(sign_in(client, resigned(provider, genuine, uscc=SECOND_UNIT_USCC)), 409)
    assert event_count(oidc_settings) == before


def test_the_keys_are_cached_and_an_unknown_kid_fetches_them_again_at_most_once(
    client: TestClient, provider: Provider, oidc_settings: Settings
) -> None:
    offset = [0.0]  # the verifier's clock runs ahead of the real one by this many seconds
    verifier = OidcVerifier(
        issuer=provider.issuer, client_id="psvs-ledger", clock=lambda: time.time() + offset[0]
    )
    client.app.state.oidc_verifier = verifier  # type: ignore[attr-defined]
    claims = claims_of(provider.id_token(UNIT))

    def unknown_kid(kid: str) -> str:
        stranger = RSAKey.generate_key(2048, parameters={"kid": kid}, private=True)
        return jwt.encode({"alg": "RS256", "kid": kid}, claims, stranger, algorithms=["RS256"])

    assert sign_in(client, provider.id_token(UNIT)).status_code == 201
    assert sign_in(client, provider.id_token(UNIT)).status_code == 201
    assert verifier.fetches == 1  # the second sign-in used the cached keys
    assert_problem(sign_in(client, unknown_kid("rotated-1")), 401)
    assert verifier.fetches == 1  # fetched moments ago: not again
    offset[0] += REFETCH_SECONDS + 1
    assert_problem(sign_in(client, unknown_kid("rotated-2")), 401)
    assert verifier.fetches == 2  # an unknown kid fetched them again, once
    assert_problem(sign_in(client, unknown_kid("rotated-3")), 401)
    assert verifier.fetches == 2
    offset[0] += CACHE_SECONDS
    assert sign_in(client, provider.id_token(UNIT)).status_code == 201
    assert verifier.fetches == 3  # the cache expired


def test_the_claim_holding_the_uscc_is_configurable(
    settings: Settings, runtime: Runtime, provider: Provider
) -> None:
    configured = settings.model_copy(
        update={
            "oidc_issuer": provider.issuer,
            "oidc_client_id": "psvs-ledger",
            "oidc_uscc_claim": "unit_uscc",
        }
    )
    with TestClient(create_app(configured, runtime=runtime)) as other:
        problem = assert_problem(sign_in(other, provider.id_token(UNIT)), 401)
    assert "no 'unit_uscc' claim" in problem["detail"]


# --- configuration ---------------------------------------------------------------------------


def test_without_a_provider_the_route_is_a_404_problem(
    settings: Settings, runtime: Runtime, provider: Provider
) -> None:
    with TestClient(create_app(settings, runtime=runtime)) as plain:
        problem = assert_problem(sign_in(plain, provider.id_token(UNIT)), 404)
        assert problem["detail"] == "no OpenID provider is configured"
        assert_problem(plain.post("/v1/accounts/oidc", json={}), 404)


def test_an_unreachable_provider_is_a_503_not_a_500(
    settings: Settings, runtime: Runtime, provider: Provider
) -> None:
    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    configured = settings.model_copy(
        update={"oidc_issuer": closed, "oidc_client_id": "psvs-ledger"}
    )
    with TestClient(create_app(configured, runtime=runtime)) as other:
        response = other.post("/v1/accounts/oidc", json={"id_token": provider.id_token(UNIT)})
        problem = assert_problem(response, 503)
    assert "could not be fetched" in problem["detail"]
    assert response.headers["Retry-After"]


def test_the_settings_refuse_a_plain_http_issuer_off_loopback_or_no_client_id() -> None:
    with pytest.raises(ValidationError, match="https"):
        Settings(oidc_issuer="http://login.example.gov.cn", oidc_client_id="psvs-ledger")
    with pytest.raises(ValidationError, match="LEDGER_OIDC_CLIENT_ID"):
        Settings(oidc_issuer="https://login.example.gov.cn")
    Settings(oidc_issuer="https://login.example.gov.cn", oidc_client_id="psvs-ledger")


def test_the_route_is_documented_under_accounts(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/v1/accounts/oidc"]["post"]
    assert operation["tags"] == ["accounts"]
    assert {"201", "401", "404", "409", "422", "503"} <= set(operation["responses"])

"""Verifying an ID token of the one OpenID provider a deployment trusts (the e-government
legal-person login), so the unit's USCC comes from the provider and never from the caller.

The provider's metadata comes from `<issuer>/.well-known/openid-configuration` and its keys from
the `jwks_uri` it names; both are kept for `CACHE_SECONDS`, and a token signed with a key id not
in the cached set fetches the keys again (at most once per `REFETCH_SECONDS`, so random key ids
cannot make the service hammer the provider). Signatures are checked by joserfc with only the
asymmetric algorithms the provider advertises (never `none`, never an HMAC whose secret could be
a public key), then the claims as OpenID Connect Core 3.1.3.7 lists them. A bad token is a 401
naming what was wrong; a provider that cannot be reached or serves nonsense is a 503. The
token itself is never logged.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from threading import Lock
from typing import Any
from urllib.parse import urlsplit

import httpx
from joserfc import jws, jwt
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    InvalidClaimError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import KeySet

from api.core.settings import Settings
from api.http.problems import Problem

# The signature algorithms of JWA (RFC 7518) and RFC 8037 whose verification key is public.
ASYMMETRIC = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
PUBLIC_KEY_TYPES = frozenset({"RSA", "EC", "OKP"})
CACHE_SECONDS = 300.0
REFETCH_SECONDS = 10.0
LEEWAY_SECONDS = 60
FETCH_TIMEOUT_SECONDS = 5.0
MAX_TOKEN_CHARS = 16_384
MAX_NAME_CHARS = 200
MAX_SUBJECT_CHARS = 255  # OpenID Connect Core 2: `sub` is at most 255 ASCII characters


@dataclass(frozen=True)
class Identity:
    """What a verified ID token asserts about the unit signing in."""

    issuer: str
    subject: str
    uscc: str
    name: str


@dataclass(frozen=True)
class _Keys:
    key_set: KeySet
    algorithms: frozenset[str]
    jwks_uri: str
    fetched_at: float


def refused(detail: str) -> Problem:
    return Problem(401, detail)


def unavailable(detail: str) -> Problem:
    return Problem(503, detail, headers={"Retry-After": "10"})


class OidcVerifier:
    """Checks ID tokens against one issuer and one client id; safe to share between threads."""

    def __init__(
        self,
        *,
        issuer: str,
        client_id: str,
        uscc_claim: str = "uscc",
        name_claim: str = "name",
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        refetch_seconds: float = REFETCH_SECONDS,
    ) -> None:
        self.issuer = issuer
        self.client_id = client_id
        self.uscc_claim = uscc_claim
        self.name_claim = name_claim
        self._transport = transport
        self._clock = clock
        self._refetch_seconds = refetch_seconds
        self._keys: _Keys | None = None
        self._lock = Lock()
        self.fetches = 0  # key-set fetches so far (the tests count them)

    @classmethod
    def from_settings(cls, settings: Settings) -> OidcVerifier:
        assert settings.oidc_issuer is not None and settings.oidc_client_id is not None
        return cls(
            issuer=settings.oidc_issuer,
            client_id=settings.oidc_client_id,
            uscc_claim=settings.oidc_uscc_claim,
            name_claim=settings.oidc_name_claim,
        )

    # --- the token --------------------------------------------------------------------------
    def verify(self, id_token: str) -> Identity:
        """The identity an ID token asserts; Problem(401) naming the fault if it is not valid."""
        if len(id_token) > MAX_TOKEN_CHARS:
            raise refused("the ID token is too long")
        header = _header(id_token)
        alg = header.get("alg")
        typ = header.get("typ")
        if typ is not None and str(typ).lower() not in {"jwt", "application/jwt"}:
            raise refused(f"the token's type is {str(typ)[:40]!r}: an ID token is expected")
        keys = self._current_keys()
        if not isinstance(alg, str) or alg not in keys.algorithms:
            raise refused(
                f"the ID token is signed with {str(alg)[:20]!r}; the provider signs ID tokens"
                f" with {', '.join(sorted(keys.algorithms))}"
            )
        kid = header.get("kid")
        if not _has_key(keys.key_set, kid):
            keys = self._refetched_keys(keys)
            if kid is None and len(keys.key_set.keys) > 1:
                raise refused("the ID token names no key (kid); the provider has several")
            if not _has_key(keys.key_set, kid):
                raise refused("the ID token is signed with a key the provider does not publish")
        try:
            token = jwt.decode(id_token, keys.key_set, algorithms=sorted(keys.algorithms))
        except BadSignatureError:
            raise refused("the ID token's signature is not the provider's") from None
        except (JoseError, ValueError) as error:
            raise refused(f"the ID token cannot be verified ({_reason(error)})") from None
        return self._identity(token.claims)

    def _identity(self, claims: dict[str, Any]) -> Identity:
        registry = jwt.JWTClaimsRegistry(
            leeway=LEEWAY_SECONDS,
            now=lambda: int(self._clock()),
            iss={"essential": True, "value": self.issuer},
            sub={"essential": True},
            aud={"essential": True, "value": self.client_id},
            exp={"essential": True},
            iat={"essential": True},
        )
        try:
            registry.validate(claims)
        except MissingClaimError as error:
            missing = error.description.split(": ")[-1]
            raise refused(f"the ID token has no {missing} claim") from None
        except ExpiredTokenError:
            raise refused("the ID token has expired") from None
        except InvalidClaimError as error:
            raise refused(self._invalid(error, claims)) from None
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        azp = claims.get("azp")
        if (len(audiences) > 1 or azp is not None) and azp != self.client_id:
            raise refused("the ID token was issued to another client (azp)")
        subject = claims["sub"]
        if not subject.strip() or len(subject) > MAX_SUBJECT_CHARS:
            raise refused("the ID token's sub claim is empty or too long")
        uscc = claims.get(self.uscc_claim)
        if uscc is None:
            raise refused(f"the ID token has no {self.uscc_claim!r} claim (the unit's USCC)")
        if not isinstance(uscc, str) or not uscc.strip():
            raise refused(f"the ID token's {self.uscc_claim!r} claim is not a USCC in text")
        name = claims.get(self.name_claim)
        name = name.strip()[:MAX_NAME_CHARS] if isinstance(name, str) else ""
        return Identity(
            issuer=self.issuer, subject=subject, uscc=uscc.strip(), name=name or uscc.strip()
        )

    def _invalid(self, error: InvalidClaimError, claims: dict[str, Any]) -> str:
        claim = error.description.split("'")[1] if "'" in error.description else ""
        if claim == "iss":
            issued_by = str(claims.get("iss"))[:100]
            return f"the ID token was issued by {issued_by!r}, not {self.issuer!r}"
        if claim == "aud":
            return "the ID token was issued to another client (aud)"
        if claim == "nbf" or "not yet valid" in error.description:
            return "the ID token is not valid yet (nbf)"
        if "future" in error.description:
            return "the ID token was issued in the future (iat)"
        return f"the ID token has an invalid claim ({_reason(error)})"

    # --- the provider's keys ----------------------------------------------------------------
    def _current_keys(self) -> _Keys:
        keys = self._keys
        if keys is not None and self._clock() - keys.fetched_at < CACHE_SECONDS:
            return keys
        with self._lock:
            keys = self._keys
            if keys is None or self._clock() - keys.fetched_at >= CACHE_SECONDS:
                keys = self._keys = self._fetch()
            return keys

    def _refetched_keys(self, seen: _Keys) -> _Keys:
        """The key set fetched again for an unknown key id, unless it was fetched just now."""
        with self._lock:
            keys = self._keys or seen
            if keys is seen and self._clock() - seen.fetched_at >= self._refetch_seconds:
                keys = self._keys = self._fetch()
            return keys

    def _fetch(self) -> _Keys:
        with httpx.Client(
            transport=self._transport, timeout=FETCH_TIMEOUT_SECONDS, follow_redirects=False
        ) as http:
            discovery_url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
            metadata = _json(http, discovery_url, "discovery document")
            if metadata.get("issuer") != self.issuer:
                raise unavailable(
                    "the OpenID provider's discovery document names another issuer than"
                    f" {self.issuer!r}"
                )
            jwks_uri = metadata.get("jwks_uri")
            if not isinstance(jwks_uri, str) or not _same_security(jwks_uri, self.issuer):
                raise unavailable("the OpenID provider's discovery document has no usable jwks_uri")
            advertised = metadata.get("id_token_signing_alg_values_supported")
            algorithms = frozenset(advertised if isinstance(advertised, list) else ()) & ASYMMETRIC
            if not algorithms:
                raise unavailable("the OpenID provider advertises no public-key ID token signature")
            jwks = _json(http, jwks_uri, "key set")
        self.fetches += 1
        return _Keys(_key_set(jwks), algorithms, jwks_uri, self._clock())


def _header(id_token: str) -> dict[str, Any]:
    """The JOSE header, read before anything is trusted (to choose the key)."""
    try:
        obj = jws.extract_compact(id_token.encode())
        return dict(obj.headers())
    except (JoseError, ValueError, TypeError):
        raise refused("the ID token is not a signed JWT (header.payload.signature)") from None


def _has_key(keys: KeySet, kid: object) -> bool:
    if kid is None:
        return len(keys.keys) == 1
    return any(key.kid == kid for key in keys)


def _key_set(jwks: dict[str, Any]) -> KeySet:
    """The provider's public signing keys: symmetric keys and encryption keys are left out."""
    entries = jwks.get("keys")
    usable = [
        entry
        for entry in (entries if isinstance(entries, list) else [])
        if isinstance(entry, dict)
        and entry.get("kty") in PUBLIC_KEY_TYPES
        and entry.get("use", "sig") == "sig"
    ]
    try:
        return KeySet.import_key_set({"keys": usable})
    except (JoseError, ValueError, TypeError):
        raise unavailable("the OpenID provider's key set has no usable signing key") from None


def _json(http: httpx.Client, url: str, what: str) -> dict[str, Any]:
    try:
        response = http.get(url, headers={"Accept": "application/json"})
    except httpx.HTTPError:
        raise unavailable(f"the OpenID provider's {what} could not be fetched") from None
    if response.status_code != 200:
        raise unavailable(f"the OpenID provider's {what} answered {response.status_code}")
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise unavailable(f"the OpenID provider's {what} is not a JSON object")
    return body


def _same_security(url: str, issuer: str) -> bool:
    """An https issuer's keys come over https too."""
    scheme = urlsplit(url).scheme
    return scheme == "https" or (scheme == "http" and urlsplit(issuer).scheme == "http")


def _reason(error: Exception) -> str:
    return (getattr(error, "description", "") or getattr(error, "error", "") or "invalid")[:120]

"""Settings of the service and the command line, from `LEDGER_*` environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Validated once at start; no secrets have defaults."""

    model_config = SettingsConfigDict(env_prefix="LEDGER_", extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="postgresql://user:pass@host:port/db; unset starts an embedded PostgreSQL",
    )
    rules: Path | None = Field(default=None, description="a rules TOML file; unset = built-in")
    data_dir: Path = Field(default=Path("var"), description="where the embedded server lives")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    log_level: str = "info"
    read_wait_seconds: float = Field(
        default=5.0, ge=0, description="how long a list waits for the views to catch up"
    )
    pool_size: int = Field(default=10, ge=1, le=200)
    max_body_bytes: int = Field(default=2_000_000, ge=1024)
    signing_key: SecretStr | None = Field(
        default=None,
        description="Ed25519 key that signs the hash chain's checkpoints: the base64 of a raw"
        " 32-byte private key, or the path of a file holding a PKCS#8 PEM key (or that base64);"
        " unset = <data_dir>/signing.key, generated (mode 0600) on first start",
    )
    checkpoint_every: int = Field(
        default=1000, ge=1, description="the chain view signs a checkpoint every N events"
    )
    feed_heartbeat_seconds: float = Field(
        default=10.0, gt=0, le=15, description="an idle feed follower gets a heartbeat this often"
    )
    session_key: SecretStr | None = Field(
        default=None,
        description="the key that signs the officer pages' session cookies (32+ characters);"
        " unset = <data_dir>/session.key, generated (mode 0600) on first start",
    )
    bench_routes: bool = Field(
        default=False, description="mount the raw-limit routes under /bench (benchmarks only)"
    )
    environment: Literal["development", "production"] = Field(
        default="development",
        description="production: /docs, /redoc and /metrics answer only to an admin's token",
    )
    account_rate_per_minute: float = Field(
        default=60, ge=0, description="accounts opened per client address per minute; 0 = off"
    )
    account_burst: int = Field(default=120, ge=1, description="accounts at once per address")
    token_rate_per_second: float = Field(
        default=100, ge=0, description="requests per bearer token per second; 0 = off"
    )
    token_burst: int = Field(default=500, ge=1, description="requests at once per token")
    encryption_key: SecretStr | None = Field(
        default=None,
        description="AES-256 keys that seal ID-card and phone numbers in the log: base64 of 32"
        " bytes, several separated by commas (the first seals, all open), or the path of a"
        " file holding them; unset = <data_dir>/encryption.key, generated (mode 0600)",
    )
    police_token_days: int = Field(
        default=90, ge=1, description="an officer's, auditor's or admin's token lives this long"
    )
    unit_token_days: int = Field(
        default=365, ge=1, description="a person's or legal person's token lives this long"
    )
    seal_names: bool = Field(
        default=True,
        description="seal units' contacts' and legal representatives' names like personal"
        " numbers (erasable: docs/operations.md)",
    )
    oidc_issuer: str | None = Field(
        default=None,
        description="the OpenID provider whose ID tokens bind legal-person accounts (its `iss`,"
        " exactly; https, or http on a loopback address); unset = POST /v1/accounts/oidc is off",
    )
    oidc_client_id: str | None = Field(
        default=None, description="this service's client id at the provider (the tokens' `aud`)"
    )
    oidc_uscc_claim: str = Field(
        default="uscc", min_length=1, description="the ID token claim carrying the unit's USCC"
    )
    oidc_name_claim: str = Field(
        default="name", min_length=1, description="the ID token claim carrying the unit's name"
    )

    @model_validator(mode="after")
    def _oidc_complete(self) -> Settings:
        if self.oidc_issuer is None:
            return self
        url = urlsplit(self.oidc_issuer)
        loopback = url.hostname in {"127.0.0.1", "::1", "localhost"}
        if url.scheme != "https" and not (url.scheme == "http" and loopback):
            raise ValueError("LEDGER_OIDC_ISSUER must be an https URL (http only on loopback)")
        if url.query or url.fragment:
            raise ValueError("LEDGER_OIDC_ISSUER may not have a query or a fragment")
        if not self.oidc_client_id:
            raise ValueError("LEDGER_OIDC_CLIENT_ID is required with LEDGER_OIDC_ISSUER")
        return self

    officer_idle_minutes: int = Field(
        default=30, ge=1, description="an officer page session idle this long ends ('idle')"
    )
    officer_session_hours: int = Field(
        default=8, ge=1, description="an officer page session this old ends ('expired')"
    )
    auth_failure_limit: int = Field(
        default=5,
        ge=1,
        description="failed sign-ins (unknown tokens) per client address or account in the"
        " window, after which sign-ins are refused with 429 until the oldest leaves it",
    )
    auth_failure_window_seconds: int = Field(
        default=900, ge=1, description="the window failed sign-ins are counted in"
    )
    feed_followers_per_token: int = Field(
        default=4, ge=1, description="concurrent `GET /v1/feed?follow=true` per bearer token"
    )
    verifications_at_once: int = Field(
        default=2, ge=1, description="chain verifications running at once (one per account)"
    )
    exports_per_account: int = Field(
        default=2, ge=1, description="exports (`/v1/*/export`) running at once per account"
    )
    attachment_retention_days: int = Field(
        default=30,
        ge=1,
        description="an upload no registration or filing references this many days after its"
        " last upload and last mention is collected (`psvs-ledger attachments collect`)",
    )
    uploads_per_day: int = Field(
        default=200, ge=0, description="uploads per account in any 24 hours; 0 = no limit"
    )
    upload_bytes_per_day: int = Field(
        default=20_000_000, ge=0, description="bytes uploaded per account in any 24 hours; 0 = off"
    )
    upload_rate_per_minute: float = Field(
        default=120, ge=0, description="uploads per client address per minute; 0 = off"
    )
    upload_burst: int = Field(default=60, ge=1, description="uploads at once per address")
    accounts_per_address_per_day: int = Field(
        default=50,
        ge=0,
        description="self-signups (POST /v1/accounts) per client address in any 24 hours,"
        " counted in PostgreSQL across worker processes; 0 = no limit",
    )
    signup_verifier: str | None = Field(
        default=None,
        description="`module:callable` that must accept every self-signup (a proof-of-work or"
        " CAPTCHA check on public deployments; docs/operations.md); unset = none",
    )
    log_format: Literal["json", "console"] | None = Field(
        default=None,
        description="json: every line on stderr is one JSON object (uvicorn's too); console:"
        " for a person at a terminal; unset = json unless stderr is a terminal",
    )
    bureau_name: str = Field(
        default="南岸区分局",
        min_length=1,
        description="the bureau the officer pages' titles name",
    )

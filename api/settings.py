"""Settings of the service and the command line, from `LEDGER_*` environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
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

"""Settings checked before anything starts: each misconfiguration is one `ConfigError` whose
message names the setting and what to do; `psvs-ledger` prints it as one line on stderr and
exits with status 2 (api/cli/main.py), instead of a traceback or a server that answers 500.

`load_settings()` reads the `LEDGER_*` variables; `check()` then refuses a malformed or
unreachable `LEDGER_DATABASE_URL` (a short connect first), a too-short `LEDGER_SESSION_KEY`,
unusable configured signing or encryption keys, and, for `serve`, a port it cannot listen on
(bound once and released, before the database or any worker starts).
"""

from __future__ import annotations

import errno
import re
import socket
from typing import Any

from api.core.settings import Settings

CONNECT_TIMEOUT_SECONDS = 3
# Settings whose values are never repeated in a message.
_SECRET_FIELDS = frozenset({"database_url", "signing_key", "session_key", "encryption_key"})
_URL_HINT = "postgresql://USER:PASSWORD@HOST:PORT/DATABASE"


class ConfigError(Exception):
    """A setting that stops the command before it starts; the message is the one line."""


def load_settings() -> Settings:
    """`Settings()`, its validation errors as one ConfigError naming the first bad setting."""
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    try:
        return Settings()
    except ValidationError as error:
        raise ConfigError(_validation_line(error.errors())) from None
    except SettingsError as error:
        raise ConfigError(f"{error}: correct the LEDGER_* setting it names") from None


def _validation_line(errors: list[Any]) -> str:
    first = errors[0]
    loc = [str(part) for part in first.get("loc", ())]
    message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    if not loc:  # a check across settings: its message names them
        return f"{message}{more}: correct the settings it names"
    name = f"LEDGER_{loc[0].upper()}"
    shown = "" if loc[0] in _SECRET_FIELDS else f", not {first.get('input')!r}"
    return f"{name} is invalid ({message}{shown}){more}: correct it, or unset it to use the default"


def check(settings: Settings, *, listen: tuple[str, int, str] | None = None) -> None:
    """Every check that applies; `listen` is (host, port, where the port came from) for serve."""
    check_session_key(settings)
    check_keys(settings)
    if listen is not None:
        check_port(*listen)
    check_database(settings)


def _masked(url: str) -> str:
    url = re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", url)
    return re.sub(r"(password\s*=\s*)\S+", r"\1***", url)


def check_database(settings: Settings) -> None:
    """A configured `LEDGER_DATABASE_URL` parses and accepts a connection within a few
    seconds (unset: the embedded server, started later, is used)."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    url = settings.database_url
    if not url:
        return
    try:
        params = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        raise ConfigError(
            f"LEDGER_DATABASE_URL is not a PostgreSQL URL ({_masked(url)!r}): set it to"
            f" {_URL_HINT}, or unset it to use the embedded server"
        ) from None
    where = f"{params.get('host', 'localhost')}:{params.get('port', 5432)}"
    try:
        with psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_SECONDS):
            pass
    except psycopg.OperationalError as error:
        raise ConfigError(
            f"LEDGER_DATABASE_URL: cannot connect to the database at {where} ({_reason(error)}):"
            " start the database or correct the setting"
        ) from None


def _reason(error: Exception) -> str:
    """The last cause libpq gives, on one line ("Connection refused", "password ... failed")."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    text = lines[0] if lines else type(error).__name__
    text = text.rsplit(" failed: ", 1)[-1]
    return text.removeprefix("FATAL:").strip().rstrip(".") or "no answer"


def check_session_key(settings: Settings) -> None:
    from api.core.secrets import MIN_SESSION_KEY_CHARS as MIN_KEY_CHARS

    if settings.session_key is None:
        return
    length = len(settings.session_key.get_secret_value().strip())
    if length < MIN_KEY_CHARS:
        raise ConfigError(
            f"LEDGER_SESSION_KEY is too short ({length} characters; at least {MIN_KEY_CHARS}):"
            " set a longer key or unset it to use a generated one"
        )


def check_keys(settings: Settings) -> None:
    """Configured signing and encryption keys load (unset ones are generated later)."""
    from api.core.keys import EncryptionKeyError, SigningKeyError, load_cipher, load_signer

    if settings.signing_key is not None:
        try:
            load_signer(settings)
        except (SigningKeyError, OSError) as error:
            raise ConfigError(
                f"LEDGER_SIGNING_KEY is unusable ({_secret_free(error, settings.signing_key)}):"
                " set it to the base64 of a raw 32-byte Ed25519 key or the path of a PEM key"
                " file, or unset it to use a generated one"
            ) from None
    if settings.encryption_key is not None:
        try:
            load_cipher(settings)
        except (EncryptionKeyError, OSError) as error:
            raise ConfigError(
                "LEDGER_ENCRYPTION_KEY is unusable"
                f" ({_secret_free(error, settings.encryption_key)}): set it to base64 AES-256"
                " keys (32 bytes each, separated by commas) or the path of a file of them, or"
                " unset it to use a generated one"
            ) from None


def _secret_free(error: Exception, secret: Any) -> str:
    """The error's reason without the secret in it (a key given inline is its own source)."""
    text = str(error).replace(secret.get_secret_value().strip(), "the setting")
    return text.removeprefix("LEDGER_SIGNING_KEY: ").removeprefix("LEDGER_ENCRYPTION_KEY: ")


def check_port(host: str, port: int, source: str) -> None:
    """Binds host:port once (as the server will, SO_REUSEADDR) and releases it."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
    except OSError as error:
        raise listen_error(host, port, source, error) from None


def listen_error(host: str, port: int, source: str, error: OSError) -> ConfigError:
    """The one line for a socket the server could not bind."""
    if error.errno == errno.EADDRINUSE:
        return ConfigError(
            f"{source} {port} is in use on {host}: stop what listens there, or choose a free"
            " port with LEDGER_PORT or --port"
        )
    if error.errno == errno.EACCES:
        return ConfigError(
            f"{source} {port}: not allowed to listen on {host}:{port} (ports below 1024 need"
            " privileges): choose a port above 1023 with LEDGER_PORT or --port"
        )
    reason = error.strerror or str(error)
    return ConfigError(
        f"cannot listen on {host}:{port} ({reason}): set LEDGER_HOST (or --host) to an"
        " address of this machine"
    )

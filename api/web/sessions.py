"""The officer pages' session: a signed cookie holding the account id and a CSRF token.

The cookie never holds the bearer token: login looks the token up once and keeps only the
account's id. It is signed with `itsdangerous` under `LEDGER_SESSION_KEY`, or, when that is unset,
under a random key generated once (mode 0600) in `<LEDGER_DATA_DIR>/session.key`, the way the
chain's signing key is (api/keys.py), so a bare machine runs and every process of one install
shares the key. Every form carries the session's CSRF token in a hidden field; a POST whose field
does not match the cookie's is refused. Before login the session holds only that CSRF token, so
the login form is protected too; logging in issues a fresh one.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from api.secret_files import generated_secret
from api.settings import Settings

COOKIE = "psvs_officer"
COOKIE_PATH = "/officer"
MAX_AGE_SECONDS = 8 * 3600  # one working day
GENERATED_KEY_FILE = "session.key"
MIN_KEY_CHARS = 32


class SessionKeyError(ValueError):
    """LEDGER_SESSION_KEY is too short to sign sessions safely."""


@dataclass(frozen=True)
class Session:
    csrf: str
    account_id: str | None = None


def session_key(settings: Settings) -> str:
    if settings.session_key is not None:
        key = settings.session_key.get_secret_value().strip()
        if len(key) < MIN_KEY_CHARS:
            raise SessionKeyError(f"LEDGER_SESSION_KEY needs at least {MIN_KEY_CHARS} characters")
        return key
    path = settings.data_dir / GENERATED_KEY_FILE
    return generated_secret(path, lambda: secrets.token_urlsafe(48).encode()).decode().strip()


class Sessions:
    """Reads and writes the session cookie."""

    def __init__(self, key: str) -> None:
        self._serializer = URLSafeTimedSerializer(key, salt="psvs-ledger officer session")

    def read(self, request: Request) -> Session | None:
        raw = request.cookies.get(COOKIE)
        if not raw:
            return None
        try:
            data = self._serializer.loads(raw, max_age=MAX_AGE_SECONDS)
        except BadSignature:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("csrf"), str):
            return None
        account = data.get("account")
        return Session(csrf=data["csrf"], account_id=account if isinstance(account, str) else None)

    def write(self, request: Request, response: Response, session: Session) -> None:
        value = self._serializer.dumps({"csrf": session.csrf, "account": session.account_id})
        response.set_cookie(
            COOKIE,
            value,
            max_age=MAX_AGE_SECONDS,
            path=COOKIE_PATH,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )

    @staticmethod
    def clear(response: Response) -> None:
        response.delete_cookie(COOKIE, path=COOKIE_PATH, httponly=True, samesite="lax")


def new_session(account_id: str | None = None) -> Session:
    return Session(csrf=secrets.token_urlsafe(32), account_id=account_id)


def csrf_matches(session: Session | None, submitted: object) -> bool:
    return (
        session is not None
        and isinstance(submitted, str)
        and hmac.compare_digest(session.csrf.encode(), submitted.encode())
    )

"""One hierarchy of ledger errors; the API maps each class to one HTTP status in one place."""

from __future__ import annotations

from collections.abc import Sequence

from ledger.values import FieldError


class LedgerError(Exception):
    """Base of every error the ledger raises on purpose."""

    title = "Ledger error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class ValidationFailed(LedgerError):
    """The command broke one or more rules; `errors` names every bad field."""

    title = "Validation failed"

    def __init__(self, errors: Sequence[FieldError], detail: str | None = None) -> None:
        super().__init__(detail or f"{len(errors)} field(s) are invalid")
        self.errors = list(errors)


class NotFound(LedgerError):
    """The thing does not exist, or is outside the caller's scope (the two look the same)."""

    title = "Not found"


class Forbidden(LedgerError):
    """The caller may see the thing but its role may not do this to it."""

    title = "Forbidden"


class Conflict(LedgerError):
    """The command contradicts the ledger's state (already registered, wrong channel, ...)."""

    title = "Conflict"


class AlreadyExists(Conflict):
    title = "Already exists"


class WrongChannel(Conflict):
    title = "Wrong channel"


class SystemClosed(Conflict):
    title = "System cancelled"


class StaleVersion(LedgerError):
    """The caller's expected version is not the aggregate's current version."""

    title = "Precondition failed"


class IdempotencyKeyReused(LedgerError):
    """The same idempotency key came back with a different request."""

    title = "Idempotency key reused with a different request"

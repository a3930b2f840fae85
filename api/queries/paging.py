"""What the lists give back: a page with its next cursor, or (for the exports) every page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypedDict, TypeVar

P = TypeVar("P")

# An export (a file of a whole list) holds at most this many rows (docs/contract.md).
MAX_EXPORT_ROWS = 100_000
# The page size an export reads the views in.
EXPORT_PAGE = 500


class Page(TypedDict):
    """A page of a list as the API answers it: `{"items": [...], "next_cursor": ...}`."""

    items: list[dict[str, Any]]
    next_cursor: str | None


class TooMany(Exception):
    """More rows than an export holds."""


def every_page(
    read: Callable[[P | None], tuple[list[dict[str, Any]], P | None]],
    *,
    first: P | None = None,
    cap: int = MAX_EXPORT_ROWS,
) -> list[dict[str, Any]]:
    """Every item of a list, reading page after page from `first` (`read(after)` gives a page
    and the position to continue after, None at the end); TooMany past `cap`."""
    items: list[dict[str, Any]] = []
    after = first
    while True:
        page, after = read(after)
        items += page
        if len(items) > cap:
            raise TooMany
        if after is None:
            return items

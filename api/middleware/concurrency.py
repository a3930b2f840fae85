"""How much expensive work runs at once: per key (a token, an account) and in all.

Feed followers per bearer token, chain verifications per account and in all, exports per
account: each is a `Slots` of the app (`slots_of`), counted in this process. Several workers
each keep their own counts, so the effective caps are the configured ones times the number of
workers. Over a cap the request is refused at once with 429 and `Retry-After`; nothing queues.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from api.core.settings import Settings
from api.http.problems import Problem

_made = threading.Lock()


class Slots:
    """At most `per_key` holders per key and `total` (None: no limit) in all."""

    def __init__(
        self, *, per_key: int, total: int | None = None, what: str, retry_after: int = 5
    ) -> None:
        self.per_key = per_key
        self.total = total
        self.what = what
        self.retry_after = retry_after
        self._held: Counter[str] = Counter()
        self._lock = threading.Lock()

    def held(self, key: str | None = None) -> int:
        with self._lock:
            return self._held[key] if key is not None else self._held.total()

    def acquire(self, key: str) -> None:
        """Takes a slot for `key`, or raises the 429 problem when there is none."""
        with self._lock:
            mine = self._held[key] >= self.per_key
            full = self.total is not None and self._held.total() >= self.total
            if not (mine or full):
                self._held[key] += 1
                return
        whose = f"at most {self.per_key} per caller" if mine else f"at most {self.total} at once"
        raise Problem(
            429,
            f"too many {self.what} ({whose}); try again in {self.retry_after} s",
            headers={"Retry-After": str(self.retry_after)},
        )

    def release(self, key: str) -> None:
        with self._lock:
            self._held[key] -= 1
            if self._held[key] <= 0:
                del self._held[key]

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        self.acquire(key)
        try:
            yield
        finally:
            self.release(key)


def slots_of(app: Any, name: str, make: Callable[[Settings], Slots]) -> Slots:
    """The app's `Slots` called `name`, made from its settings on first use."""
    attribute = f"slots_{name}"
    found: Slots | None = getattr(app.state, attribute, None)
    if found is None:
        with _made:
            found = getattr(app.state, attribute, None)
            if found is None:
                found = make(getattr(app.state, "settings", None) or Settings())
                setattr(app.state, attribute, found)
    return found

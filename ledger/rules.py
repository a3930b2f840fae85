"""Filing deadline rules as data (``rules.toml``) plus the pure functions that apply them.

Periods are counted as the Civil Code says: the start day is not counted, and a last day that
falls on a statutory rest day moves to the next working day. Rest days come from the
chinese_calendar package (published a year at a time) plus days a district adds in the rules
file. A deadline that touches a year the calendar does not cover is counted on weekends only
and marked provisional; views rebuilt after a calendar update make it exact.
"""

from __future__ import annotations

import functools
import hashlib
import re
import tomllib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from importlib import resources
from pathlib import Path

import chinese_calendar

_BUILTIN_RULES = "rules.toml"
_DIGEST_LENGTH = 16
# The longest official holiday run is nine days; anything longer means the rules are wrong.
_MAX_ROLL_DAYS = 60


class RulesError(ValueError):
    """The rules file is missing, unreadable, or lacks or mistypes a key."""


@dataclass(frozen=True)
class Rules:
    """One version of the filing rules; ``digest`` identifies the exact file it came from."""

    version: str
    digest: str
    new_system_days: int
    regulation_start: date
    legacy_last_day: date
    change_days: int
    due_soon_days: int
    storage_min_days: int
    extra_rest_days: frozenset[date]
    extra_working_days: frozenset[date]
    covered_through: int | None
    forbidden_location_keywords: tuple[str, ...]


@dataclass(frozen=True)
class Deadline:
    """The last day to act; ``provisional`` when counted without an official calendar."""

    due_on: date
    provisional: bool


# --- Loading ---------------------------------------------------------------------------------


def rules_text(path: str | Path | None = None) -> str:
    """The text of a rules file; None gives the built-in ``rules.toml`` shipped with ledger."""
    if path is None:
        raw = resources.files("ledger").joinpath(_BUILTIN_RULES).read_bytes()
    else:
        raw = _read_file(Path(path))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RulesError(f"rules file {path or _BUILTIN_RULES} is not UTF-8: {exc}") from exc


def load_rules(path: str | Path | None = None) -> Rules:
    """Read rules from a TOML file; None reads the built-in ``rules.toml`` shipped with ledger."""
    name = f"built-in {_BUILTIN_RULES}" if path is None else str(path)
    return rules_from_text(rules_text(path), source=name)


def rules_from_text(text: str, *, source: str) -> Rules:
    """Rules from the text of a rules file (as views store it); ``source`` names it in errors."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"rules file {source} is not valid TOML: {exc}") from exc
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:_DIGEST_LENGTH]
    return _build_rules(_Source(source, data), digest)


def calendar_version() -> str:
    """The installed holiday calendar and the last year it covers, e.g. ``1.11.0 (2026)``."""
    version = getattr(chinese_calendar, "__version__", "unknown")
    return f"{version} ({_calendar_years()[1]})"


def _read_file(path: Path) -> bytes:
    """Read the rules file's bytes, turning I/O failures into a RulesError."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise RulesError(f"cannot read rules file {path}: {exc.strerror}") from exc


def _build_rules(source: _Source, digest: str) -> Rules:
    """Assemble Rules from the parsed file, checking every key's presence and type."""
    rules = Rules(
        version=source.text("version"),
        digest=digest,
        new_system_days=source.integer("registration.new_system_days"),
        regulation_start=source.day("registration.regulation_start"),
        legacy_last_day=source.day("registration.legacy_last_day"),
        change_days=source.integer("change.days"),
        due_soon_days=source.integer("overdue.due_soon_days"),
        storage_min_days=source.integer("storage.min_days"),
        extra_rest_days=source.days("calendar.extra_rest_days"),
        extra_working_days=source.days("calendar.extra_working_days"),
        covered_through=source.optional_integer("calendar.covered_through"),
        forbidden_location_keywords=source.texts("warnings.forbidden_location_keywords"),
    )
    both = rules.extra_rest_days & rules.extra_working_days
    if both:
        raise RulesError(
            f"rules file {source.name}: calendar.extra_rest_days and "
            f"calendar.extra_working_days both list {min(both).isoformat()}"
        )
    return rules


@dataclass(frozen=True)
class _Source:
    """A parsed rules file with typed look-ups by dotted key, e.g. ``change.days``."""

    name: str
    data: dict[str, object]

    def get(self, key: str) -> object:
        """Return the value at a dotted key; a missing key is a RulesError naming it."""
        node: object = self.data
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                raise RulesError(f"rules file {self.name} is missing key '{key}'")
            node = node[part]
        return node

    def _wrong(self, key: str, expected: str) -> RulesError:
        return RulesError(f"rules file {self.name}: '{key}' must be {expected}")

    def integer(self, key: str) -> int:
        """A non-negative integer (TOML booleans are not accepted as numbers)."""
        value = self.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self._wrong(key, "a non-negative integer")
        return value

    def optional_integer(self, key: str) -> int | None:
        """Like ``integer``, but an absent key gives None."""
        try:
            self.get(key)
        except RulesError:
            return None
        return self.integer(key)

    def day(self, key: str) -> date:
        """A TOML local date such as 2025-04-01 (not a date-time)."""
        value = self.get(key)
        if isinstance(value, datetime) or not isinstance(value, date):
            raise self._wrong(key, "a date such as 2025-04-01")
        return value

    def days(self, key: str) -> frozenset[date]:
        """A list of TOML local dates."""
        value = self.get(key)
        if not isinstance(value, list) or not all(
            isinstance(d, date) and not isinstance(d, datetime) for d in value
        ):
            raise self._wrong(key, "a list of dates such as [2027-01-01]")
        return frozenset(value)

    def text(self, key: str) -> str:
        """A non-empty string."""
        value = self.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self._wrong(key, "a non-empty string")
        return value

    def texts(self, key: str) -> tuple[str, ...]:
        """A list of non-empty strings."""
        value = self.get(key)
        if not isinstance(value, list) or not all(isinstance(s, str) and s.strip() for s in value):
            raise self._wrong(key, "a list of non-empty strings")
        return tuple(value)


# --- Calendar --------------------------------------------------------------------------------


@functools.cache
def _calendar_years() -> tuple[int, int]:
    """First and last year the installed chinese_calendar has official data for."""
    years = [day.year for day in chinese_calendar.holidays]
    return min(years), max(years)


def _is_covered(day: date, rules: Rules) -> bool:
    """Whether the day's year has an official calendar (``covered_through`` overrides the end)."""
    first, last = _calendar_years()
    if rules.covered_through is not None:
        last = rules.covered_through
    return first <= day.year <= last


def _is_rest_day(day: date, rules: Rules, *, covered: bool) -> bool:
    """Whether the day is a statutory rest day; the rules' extra days win over the calendar."""
    if day in rules.extra_working_days:
        return False
    if day in rules.extra_rest_days:
        return True
    first, last = _calendar_years()
    if covered and first <= day.year <= last:
        return not bool(chinese_calendar.is_workday(day))
    # Uncovered years (and years covered only by the rules file) count weekends only.
    return day.weekday() >= 5


@functools.lru_cache(maxsize=8192)
def _roll_forward(last_day: date, rules: Rules) -> Deadline:
    """Move a last day that is a rest day to the next working day."""
    day = last_day
    provisional = False
    for _ in range(_MAX_ROLL_DAYS):
        covered = _is_covered(day, rules)
        provisional = provisional or not covered
        if not _is_rest_day(day, rules, covered=covered):
            return Deadline(due_on=day, provisional=provisional)
        day += timedelta(days=1)
    raise RulesError(f"no working day within {_MAX_ROLL_DAYS} days of {last_day.isoformat()}")


# --- Deadlines -------------------------------------------------------------------------------


def deadline_after(start: date, days: int, rules: Rules) -> Deadline:
    """The deadline of a period of ``days`` days starting on ``start`` (not itself counted)."""
    if days < 0:
        raise ValueError("a period cannot have a negative number of days")
    return _roll_forward(start + timedelta(days=days), rules)


def registration_deadline(commissioned_on: date, rules: Rules) -> Deadline:
    """When a system put into use on ``commissioned_on`` must be filed."""
    if commissioned_on < rules.regulation_start:
        return _roll_forward(rules.legacy_last_day, rules)
    return deadline_after(commissioned_on, rules.new_system_days, rules)


def change_deadline(effective_on: date, rules: Rules) -> Deadline:
    """When a change that took effect on ``effective_on`` must be filed."""
    return deadline_after(effective_on, rules.change_days, rules)


def is_late(deadline: Deadline, met_on: date) -> bool:
    """Whether something done on ``met_on`` missed the deadline (the due day itself is in time)."""
    return met_on > deadline.due_on


def days_overdue(deadline: Deadline, as_of: date) -> int:
    """Days past the deadline on ``as_of``; 0 when not overdue."""
    return max(0, (as_of - deadline.due_on).days)


def is_due_soon(deadline: Deadline, as_of: date, rules: Rules) -> bool:
    """Whether the deadline is not yet past and at most ``due_soon_days`` away."""
    return 0 <= (deadline.due_on - as_of).days <= rules.due_soon_days


# --- Warnings --------------------------------------------------------------------------------


_SEPARATORS = re.compile(r"[\s\-_]+")


def _fold(text: str) -> str:
    """Case-fold and treat runs of spaces, hyphens and underscores as one space."""
    return _SEPARATORS.sub(" ", text.casefold())


@functools.lru_cache(maxsize=16)
def _folded_keywords(keywords: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    return tuple((keyword, _fold(keyword)) for keyword in keywords)


def forbidden_location(text: str, rules: Rules) -> str | None:
    """The first Art. 8 keyword (as written in the rules) found in a location, or None."""
    folded = _fold(text)
    for keyword, folded_keyword in _folded_keywords(rules.forbidden_location_keywords):
        if folded_keyword in folded:
            return keyword
    return None

"""Deadline rules: the rules file, Civil Code day counting and the official holiday calendar."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import chinese_calendar
import pytest

import ledger.rules
from ledger.rules import (
    Deadline,
    Rules,
    RulesError,
    change_deadline,
    days_overdue,
    deadline_after,
    forbidden_location,
    is_due_soon,
    is_late,
    load_rules,
    registration_deadline,
)

BUILTIN = Path(ledger.rules.__file__).with_name("rules.toml")
SATURDAY = 5


@pytest.fixture(scope="module")
def rules() -> Rules:
    return load_rules()


def custom_rules(tmp_path: Path, *replacements: tuple[str, str]) -> Rules:
    """The built-in rules with pieces of text replaced, loaded from a file in tmp_path."""
    text = BUILTIN.read_text(encoding="utf-8")
    for old, new in replacements:
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    return load_rules(path)


def first_uncovered_year() -> int:
    years: list[int] = [day.year for day in chinese_calendar.holidays]
    return max(years) + 1


# --- The calendar facts these tests rely on, checked against chinese_calendar itself ---------


def test_calendar_facts_assumed_by_these_tests() -> None:
    def workday(iso: str) -> bool:
        return bool(chinese_calendar.is_workday(date.fromisoformat(iso)))

    national_day = [date(2025, 10, 1) + timedelta(days=i) for i in range(8)]
    assert not any(chinese_calendar.is_workday(day) for day in national_day)
    assert workday("2025-10-09")
    assert date(2025, 9, 28).weekday() == 6 and workday("2025-09-28")  # make-up Sunday
    assert date(2025, 6, 30).weekday() == 0 and workday("2025-06-30")
    assert not any(workday(f"2025-05-0{d}") for d in range(1, 6))  # May Day holiday
    assert workday("2025-05-06") and workday("2025-06-05")
    assert date(2025, 7, 5).weekday() == SATURDAY and not workday("2025-07-05")
    assert workday("2025-07-07")
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(first_uncovered_year(), 1, 1))


# --- Loading the rules -----------------------------------------------------------------------


def test_builtin_rules_hold_the_regulations_numbers(rules: Rules) -> None:
    assert rules.version == "2025.1"
    assert rules.new_system_days == 30
    assert rules.regulation_start == date(2025, 4, 1)
    assert rules.legacy_last_day == date(2025, 6, 30)
    assert rules.change_days == 30
    assert rules.due_soon_days == 7
    assert rules.storage_min_days == 30
    assert rules.extra_rest_days == frozenset() and rules.extra_working_days == frozenset()
    assert rules.covered_through is None
    assert {"客房", "宿舍", "卫生间", "试衣间", "toilet"} <= set(rules.forbidden_location_keywords)


def test_digest_identifies_the_file_bytes(rules: Rules, tmp_path: Path) -> None:
    assert len(rules.digest) == 16
    assert load_rules(BUILTIN).digest == rules.digest
    changed = custom_rules(tmp_path, ("days = 30\n\n[overdue]", "days = 15\n\n[overdue]"))
    assert changed.change_days == 15
    assert changed.digest != rules.digest


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ("due_soon_days = 7\n", "overdue.due_soon_days"),
        ('version = "2025.1"\n', "version"),
        ("\ndays = 30\n", "change.days"),
    ],
)
def test_rules_file_missing_a_key_is_rejected_naming_it(
    tmp_path: Path, line: str, key: str
) -> None:
    with pytest.raises(RulesError, match=f"missing key '{key}'"):
        custom_rules(tmp_path, (line, ""))


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("due_soon_days = 7", 'due_soon_days = "7"', "overdue.due_soon_days"),
        ("min_days = 30", "min_days = true", "storage.min_days"),
        (
            "legacy_last_day = 2025-06-30",
            "legacy_last_day = 2025-06-30T00:00:00",
            "registration.legacy_last_day",
        ),
        ("extra_rest_days = []", 'extra_rest_days = ["2025-07-07"]', "calendar.extra_rest_days"),
    ],
)
def test_rules_file_with_a_mistyped_key_is_rejected_naming_it(
    tmp_path: Path, old: str, new: str, key: str
) -> None:
    with pytest.raises(RulesError, match=key):
        custom_rules(tmp_path, (old, new))


def test_missing_or_malformed_rules_file_is_a_rules_error(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match="cannot read"):
        load_rules(tmp_path / "absent.toml")
    with pytest.raises(RulesError, match="not valid TOML"):
        custom_rules(tmp_path, ("[change]", "[change"))


def test_a_day_both_rest_and_working_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match="2025-07-07"):
        custom_rules(
            tmp_path,
            ("extra_rest_days = []", "extra_rest_days = [2025-07-07]"),
            ("extra_working_days = []", "extra_working_days = [2025-07-07]"),
        )


# --- Counting days ---------------------------------------------------------------------------


def test_start_day_is_not_counted_so_day_30_is_in_time_and_day_31_late(rules: Rules) -> None:
    deadline = deadline_after(date(2025, 5, 6), 30, rules)
    assert deadline == Deadline(due_on=date(2025, 6, 5), provisional=False)
    assert not is_late(deadline, date(2025, 6, 5))
    assert is_late(deadline, date(2025, 6, 6))


def test_last_day_in_national_day_holiday_moves_to_first_working_day_after(
    rules: Rules,
) -> None:
    assert deadline_after(date(2025, 9, 1), 30, rules).due_on == date(2025, 10, 9)
    assert deadline_after(date(2025, 9, 8), 30, rules).due_on == date(2025, 10, 9)


def test_last_day_on_a_make_up_working_sunday_stays(rules: Rules) -> None:
    assert deadline_after(date(2025, 8, 29), 30, rules) == Deadline(date(2025, 9, 28), False)


def test_last_day_on_a_plain_weekend_moves_to_monday(rules: Rules) -> None:
    assert deadline_after(date(2025, 6, 5), 30, rules).due_on == date(2025, 7, 7)


def test_negative_period_is_refused(rules: Rules) -> None:
    with pytest.raises(ValueError):
        deadline_after(date(2025, 6, 5), -1, rules)


# --- Registration and change deadlines -------------------------------------------------------


def test_system_in_use_before_regulation_files_by_june_30_2025(rules: Rules) -> None:
    expected = Deadline(due_on=date(2025, 6, 30), provisional=False)
    assert registration_deadline(date(2025, 3, 31), rules) == expected
    assert registration_deadline(date(2010, 1, 1), rules) == expected


def test_system_put_into_use_on_regulation_day_files_within_30_days(rules: Rules) -> None:
    # 2025-05-01 is the first day of the May Day holiday, which ends on 2025-05-05.
    deadline = registration_deadline(date(2025, 4, 1), rules)
    assert deadline == Deadline(due_on=date(2025, 5, 6), provisional=False)


def test_legacy_last_day_on_a_rest_day_moves_too(tmp_path: Path) -> None:
    rules = custom_rules(tmp_path, ("legacy_last_day = 2025-06-30", "legacy_last_day = 2025-10-01"))
    assert registration_deadline(date(2025, 3, 1), rules).due_on == date(2025, 10, 9)


def test_change_is_due_within_the_rules_change_days(rules: Rules, tmp_path: Path) -> None:
    assert change_deadline(date(2025, 6, 5), rules).due_on == date(2025, 7, 7)
    shorter = custom_rules(tmp_path, ("days = 30\n\n[overdue]", "days = 10\n\n[overdue]"))
    assert change_deadline(date(2025, 6, 5), shorter).due_on == date(2025, 6, 16)


# --- Days the rules file adds, and years the calendar does not cover -------------------------


def test_extra_rest_day_in_rules_file_moves_a_deadline(tmp_path: Path) -> None:
    rules = custom_rules(tmp_path, ("extra_rest_days = []", "extra_rest_days = [2025-07-07]"))
    assert deadline_after(date(2025, 6, 5), 30, rules).due_on == date(2025, 7, 8)


def test_extra_working_day_in_rules_file_ends_a_holiday_early(tmp_path: Path) -> None:
    rules = custom_rules(tmp_path, ("extra_working_days = []", "extra_working_days = [2025-10-08]"))
    assert deadline_after(date(2025, 9, 1), 30, rules).due_on == date(2025, 10, 8)


def test_deadline_in_a_year_without_calendar_is_provisional_counting_weekends_only(
    rules: Rules,
) -> None:
    year = first_uncovered_year()
    saturday = next(
        day
        for day in (date(year, 10, 1) + timedelta(days=i) for i in range(7))
        if day.weekday() == SATURDAY
    )
    deadline = deadline_after(saturday - timedelta(days=30), 30, rules)
    assert deadline == Deadline(due_on=saturday + timedelta(days=2), provisional=True)
    new_year = date(year, 1, 1)
    if new_year.weekday() < SATURDAY:  # not yet known as a holiday, so it stays
        assert deadline_after(new_year - timedelta(days=30), 30, rules).due_on == new_year


def test_covered_through_ends_the_calendar_early_making_deadlines_provisional(
    tmp_path: Path,
) -> None:
    rules = custom_rules(tmp_path, ("# covered_through = 2026", "covered_through = 2025"))
    # 2026-10-01 is a Thursday and National Day, but 2026 now counts weekends only.
    assert deadline_after(date(2026, 9, 1), 30, rules) == Deadline(date(2026, 10, 1), True)


def test_moving_into_an_uncovered_year_makes_the_deadline_provisional(tmp_path: Path) -> None:
    rules = custom_rules(
        tmp_path,
        ("extra_rest_days = []", "extra_rest_days = [2025-12-31]"),
        ("# covered_through = 2026", "covered_through = 2025"),
    )
    assert deadline_after(date(2025, 12, 1), 30, rules) == Deadline(date(2026, 1, 1), True)


def test_district_days_with_covered_through_make_a_new_year_exact(tmp_path: Path) -> None:
    rules = custom_rules(
        tmp_path,
        ("extra_rest_days = []", "extra_rest_days = [2027-01-01]"),
        ("# covered_through = 2026", "covered_through = 2027"),
    )
    # 2027-01-01 is a Friday; the weekend follows, so the first working day is Monday.
    assert deadline_after(date(2026, 12, 2), 30, rules) == Deadline(date(2027, 1, 4), False)


# --- Overdue and due soon --------------------------------------------------------------------


def test_days_overdue_counts_only_days_after_the_due_day() -> None:
    deadline = Deadline(due_on=date(2025, 6, 30), provisional=False)
    assert days_overdue(deadline, date(2025, 6, 1)) == 0
    assert days_overdue(deadline, date(2025, 6, 30)) == 0
    assert days_overdue(deadline, date(2025, 7, 3)) == 3


def test_due_soon_means_not_past_and_at_most_seven_days_away(rules: Rules) -> None:
    deadline = Deadline(due_on=date(2025, 6, 30), provisional=False)
    assert not is_due_soon(deadline, date(2025, 6, 22), rules)
    assert is_due_soon(deadline, date(2025, 6, 23), rules)
    assert is_due_soon(deadline, date(2025, 6, 30), rules)
    assert not is_due_soon(deadline, date(2025, 7, 1), rules)


# --- Art. 8 forbidden locations --------------------------------------------------------------


@pytest.mark.parametrize(
    ("location", "keyword"),
    [
        ("3楼员工宿舍走廊", "宿舍"),
        ("一楼女卫生间门口", "卫生间"),
        ("Staff Changing-Room, B1", "changing room"),
        ("PUBLIC TOILET entrance", "toilet"),
    ],
)
def test_location_naming_a_forbidden_place_is_flagged(
    rules: Rules, location: str, keyword: str
) -> None:
    assert forbidden_location(location, rules) == keyword


@pytest.mark.parametrize("location", ["大堂入口", "停车场出口", "Main entrance"])
def test_ordinary_public_location_is_not_flagged(rules: Rules, location: str) -> None:
    assert forbidden_location(location, rules) is None

"""Compulsory school age (Education Act 1996 s.8; Start of Compulsory School Age Order 1998)."""
from __future__ import annotations

from dataclasses import FrozenInstanceError
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.domain.school_age import (
    PRESCRIBED_DAYS,
    SchoolAge,
    compulsory_school_age,
    date_of_attaining_age,
    first_prescribed_day_on_or_after,
    last_friday_of_june,
)

D = date.fromisoformat


def age_on(dob: date, day: date) -> int:
    return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))


@pytest.mark.parametrize(
    ("dob", "starts", "ends"),
    [
        # The worked examples in DESIGN.md.
        ("2007-09-23", "2012-12-31", "2024-06-28"),
        ("2020-04-01", "2025-08-31", "2036-06-27"),
        ("2009-08-31", "2014-08-31", "2025-06-27"),  # fifth birthday is itself a prescribed day
    ],
)
def test_design_worked_examples(dob: str, starts: str, ends: str) -> None:
    assert compulsory_school_age(D(dob)) == SchoolAge(starts=D(starts), ends=D(ends))


@pytest.mark.parametrize(
    ("dob", "starts"),
    [
        ("2019-12-31", "2024-12-31"),  # birthday on a prescribed day starts that day
        ("2020-03-31", "2025-03-31"),
        ("2019-08-31", "2024-08-31"),
        ("2020-01-01", "2025-03-31"),  # day after a prescribed day waits for the next one
        ("2020-04-01", "2025-08-31"),  # the longest wait: five months less a day
        ("2019-09-01", "2024-12-31"),
        ("2016-02-29", "2021-03-31"),  # fifth birthday taken as 2021-03-01
    ],
)
def test_starts_on_first_prescribed_day_on_or_after_fifth_birthday(dob: str, starts: str) -> None:
    assert compulsory_school_age(D(dob)).starts == D(starts)


@pytest.mark.parametrize(
    ("dob", "ends"),
    [
        ("2019-08-31", "2035-06-29"),  # oldest in its year group: turns 16 on 31 Aug 2035
        ("2019-09-01", "2036-06-27"),  # 1 September is the younger year group: leaves the June after
        ("2019-12-31", "2036-06-27"),
        ("2020-03-31", "2036-06-27"),
        ("2007-03-15", "2023-06-30"),  # 30 June 2023 is a Friday: the leaving date is 30 June itself
        ("2017-01-15", "2033-06-24"),  # 30 June 2033 is a Thursday: the earliest possible leaving date
        ("2012-02-29", "2028-06-30"),  # 16th birthday is 29 Feb 2028 (a leap year)
        ("2016-02-29", "2032-06-25"),
    ],
)
def test_ends_on_leaving_date_of_school_year_turning_16(dob: str, ends: str) -> None:
    assert compulsory_school_age(D(dob)).ends == D(ends)


@pytest.mark.parametrize(
    ("dob", "age_at_end"),
    [
        ("2008-06-27", 16),  # s.8(3)(c): turned 16 the day before the leaving date (28 June 2024)
        ("2008-06-28", 16),  # s.8(3)(b): turns 16 on the leaving date itself
        ("2008-06-29", 15),  # s.8(3)(a): turns 16 after the leaving date, before the next school year
    ],
)
def test_birthdays_around_the_leaving_date_all_leave_that_june(dob: str, age_at_end: int) -> None:
    ends = compulsory_school_age(D(dob)).ends
    assert ends == D("2024-06-28")
    assert age_on(D(dob), ends) == age_at_end


@pytest.mark.parametrize(
    ("dob", "age", "attained"),
    [
        ("2016-02-29", 5, "2021-03-01"),  # common year: 1 March (Family Law Reform Act 1969 s.9)
        ("2016-02-29", 4, "2020-02-29"),  # leap year: the day itself
        ("2007-09-23", 16, "2023-09-23"),
    ],
)
def test_date_of_attaining_age(dob: str, age: int, attained: str) -> None:
    assert date_of_attaining_age(D(dob), age) == D(attained)


@pytest.mark.parametrize(
    ("year", "friday"),
    [(2023, "2023-06-30"), (2024, "2024-06-28"), (2029, "2029-06-29"), (2033, "2033-06-24")],
)
def test_last_friday_of_june(year: int, friday: str) -> None:
    assert last_friday_of_june(year) == D(friday)


def test_first_prescribed_day_on_or_after() -> None:
    assert first_prescribed_day_on_or_after(D("2025-03-31")) == D("2025-03-31")
    assert first_prescribed_day_on_or_after(D("2025-09-01")) == D("2025-12-31")


def test_applies_on_is_inclusive_at_both_ends() -> None:
    age = compulsory_school_age(D("2007-09-23"))
    assert not age.applies_on(D("2012-12-30"))
    assert age.applies_on(D("2012-12-31"))
    assert age.applies_on(D("2024-06-28"))
    assert not age.applies_on(D("2024-06-29"))


def test_school_age_is_frozen() -> None:
    age = compulsory_school_age(D("2007-09-23"))
    with pytest.raises(FrozenInstanceError):
        age.starts = D("2000-01-01")  # type: ignore[misc]


@pytest.mark.parametrize("dob", ["1900-01-01", "1904-02-29", "2096-02-29", "2100-12-31", "2100-02-28"])
def test_extreme_dates_do_not_crash(dob: str) -> None:
    age = compulsory_school_age(D(dob))
    assert age.starts < age.ends


dobs = st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31))


@given(dobs)
def test_starts_is_the_first_prescribed_day_on_or_after_fifth_birthday(dob: date) -> None:
    fifth = date_of_attaining_age(dob, 5)
    starts = compulsory_school_age(dob).starts
    assert (starts.month, starts.day) in PRESCRIBED_DAYS
    assert fifth <= starts
    # 1 April → 31 August is the longest wait (152 days): under five months, not under four.
    assert starts - fifth <= timedelta(days=152)
    skipped = [fifth + timedelta(days=i) for i in range((starts - fifth).days)]
    assert not any((day.month, day.day) in PRESCRIBED_DAYS for day in skipped)


@given(dobs)
def test_ends_is_a_late_june_friday_at_age_15_or_16(dob: date) -> None:
    ends = compulsory_school_age(dob).ends
    assert ends.weekday() == 4 and ends.month == 6 and ends.day >= 24
    assert age_on(dob, ends) in (15, 16)
    # The 16th birthday falls in the school year (1 Sept – 31 Aug) whose June holds the leaving date.
    assert date(ends.year - 1, 9, 1) <= date_of_attaining_age(dob, 16) <= date(ends.year, 8, 31)

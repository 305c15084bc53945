"""Compulsory school age: Education Act 1996 s.8 and the Education (Start of Compulsory School Age) Order 1998.

Plain calendar arithmetic; school days play no part here.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

# The 1998 Order's prescribed days, as (month, day), in calendar order.
PRESCRIBED_DAYS: tuple[tuple[int, int], ...] = ((3, 31), (8, 31), (12, 31))
# School years are taken as 1 September – 31 August (DESIGN.md, "Compulsory school age").
SCHOOL_YEAR_FIRST_MONTH = 9
_FRIDAY = 4


@dataclass(frozen=True)
class SchoolAge:
    """The inclusive span of days on which a child is of compulsory school age."""

    starts: date
    ends: date

    def applies_on(self, day: date) -> bool:
        return self.starts <= day <= self.ends


def date_of_attaining_age(dob: date, age: int) -> date:
    """The day a child born on `dob` attains `age`.

    A 29 February birthday is taken as 1 March in a common year: a person attains an age at the start of
    the relevant anniversary (Family Law Reform Act 1969 s.9), and a common year has no 29 February.
    """
    year = dob.year + age
    try:
        return dob.replace(year=year)
    except ValueError:  # 29 February in a common year
        return date(year, 3, 1)


def first_prescribed_day_on_or_after(day: date) -> date:
    """31 March, 31 August or 31 December, whichever comes first on or after `day`."""
    # 31 December is always on or after any day of its year, so a candidate always exists.
    return next(
        prescribed
        for prescribed in (date(day.year, month, dom) for month, dom in PRESCRIBED_DAYS)
        if prescribed >= day
    )


def last_friday_of_june(year: int) -> date:
    """The school leaving date for a calendar year (s.8(4): the last Friday in June)."""
    june_30 = date(year, 6, 30)
    return june_30 - timedelta(days=(june_30.weekday() - _FRIDAY) % 7)


def school_leaving_date(dob: date) -> date:
    """The leaving date in June of the school year (1 Sept – 31 Aug) in which the child turns 16.

    This is s.8(3): a child who turns 16 between the leaving date and 31 August leaves at that leaving date
    (aged 15); one who turns 16 from 1 September onwards leaves at the next June's leaving date. A 1 September
    birthday therefore falls in the younger year group.
    """
    sixteenth = date_of_attaining_age(dob, 16)
    june_year = sixteenth.year + (1 if sixteenth.month >= SCHOOL_YEAR_FIRST_MONTH else 0)
    return last_friday_of_june(june_year)


def compulsory_school_age(dob: date) -> SchoolAge:
    """When a child born on `dob` is of compulsory school age.

    Starts on the first prescribed day on or after the fifth birthday; ends on the school leaving date of the
    school year in which the child turns 16. Accepts any date (including future ones) from 1900 to 2100.
    """
    fifth = date_of_attaining_age(dob, 5)
    return SchoolAge(starts=first_prescribed_day_on_or_after(fifth), ends=school_leaving_date(dob))


# Which dates of birth can belong to a child the register holds (issue: 1900-01-01 was accepted as a child).
# Youngest: the register follows children from just before compulsory school age: a child not registered at a
# school when they reach it (§3.1.1) or refusing a reception place at the transition point (§4.9) is about four;
# from the start of the reception year (the September after the fourth birthday) compulsory school age begins
# at most about 16 months later, so two years of lead time holds every such child with room for an early referral.
# Oldest: the duty ends with compulsory school age (§1.1, §12.2: 16-18 year olds are outside this policy), and a
# case open at that point closes under §11.9; a year past the leaving date leaves time to close out a late
# referral or a case still open, while a DOB like 1900-01-01 (a typing slip, or a default left in a form) is refused.
CSA_LEAD_TIME = timedelta(days=2 * 365)
CLOSE_OUT_MARGIN = timedelta(days=365)


def dob_problem(dob: date, today: date) -> str | None:
    """None when a child born on `dob` can be on the register on `today`, otherwise why not (for "date of birth
    ..."). The bounds come from compulsory school age itself, not from a fixed age, so they follow s.8."""
    if dob > today:
        return "is in the future"
    age = compulsory_school_age(dob)
    if age.starts > today + CSA_LEAD_TIME:
        return (f"is too recent: compulsory school age would start only on {age.starts.isoformat()}, more than "
                "two years from now")
    if age.ends < today - CLOSE_OUT_MARGIN:
        return (f"is too long ago: compulsory school age ended on {age.ends.isoformat()}, more than a year ago "
                "(§11.9, §12.2)")
    return None

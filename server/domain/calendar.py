"""The statutory calendar in one import: compulsory school age, school days and case deadlines.

The rules live in `school_age`, `school_days` and `deadlines`; this module only gathers their public names.
"""
from __future__ import annotations

from server.domain.deadlines import Deadline, DeadlineFacts, compute_deadlines
from server.domain.school_age import (
    SchoolAge,
    compulsory_school_age,
    date_of_attaining_age,
    first_prescribed_day_on_or_after,
    last_friday_of_june,
    school_leaving_date,
)
from server.domain.school_days import (
    DayCount,
    SchoolCalendar,
    SchoolDayCount,
    Term,
    TermDatesError,
    academic_year_of,
    is_bank_holiday,
    parse_term_dates,
)

__all__ = [
    "DayCount",
    "Deadline",
    "DeadlineFacts",
    "SchoolAge",
    "SchoolCalendar",
    "SchoolDayCount",
    "Term",
    "TermDatesError",
    "academic_year_of",
    "compulsory_school_age",
    "compute_deadlines",
    "date_of_attaining_age",
    "first_prescribed_day_on_or_after",
    "is_bank_holiday",
    "last_friday_of_june",
    "parse_term_dates",
    "school_leaving_date",
]

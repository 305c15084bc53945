"""The statutory calendar built from the term dates an admin loaded."""
from __future__ import annotations

from datetime import date

from ..adapters.models import Case, TermDate
from ..domain.access import Actor, Permission, require
from ..domain.calendar import (Deadline, DeadlineFacts, SchoolCalendar, Term,
                               compute_deadlines, parse_term_dates)
from . import audit


def school_calendar(uow) -> SchoolCalendar:
    # Closures (INSET days and the like) are stored as terms named "closure: ..."; the calendar knows them.
    return SchoolCalendar(Term(t.academic_year, t.name, t.start, t.end) for t in uow.term_dates.all())


def load_term_dates(uow, actor: Actor, text: str, fmt: str) -> list[Term]:
    """Replace the term dates of each academic year in the file (a reload corrects a year, never mixes two)."""
    require(actor, Permission.LOAD_TERM_DATES)
    terms = parse_term_dates(text, fmt)  # TermDatesError is an InvalidInput naming the field
    years = {t.academic_year for t in terms}
    uow.term_dates.replace_years(years, [TermDate(academic_year=t.academic_year, name=t.name, start=t.start,
                                                  end=t.end) for t in terms])
    # Term dates move every school-day deadline, so who loaded them is kept.
    audit.record(uow, actor, "term_dates.load", None, detail=",".join(sorted(years))[:audit.DETAIL_MAX])
    return terms


def list_terms(uow, actor: Actor, academic_year: str | None = None) -> list[TermDate]:
    require(actor, Permission.READ_CALENDAR)
    return uow.term_dates.all(academic_year)


def case_deadlines(case: Case, referral_received: date | None, cal: SchoolCalendar,
                   today: date) -> list[Deadline]:
    facts = DeadlineFacts(
        first_day_of_absence=case.first_day_of_absence, referral_received=referral_received,
        referral_accepted=case.referral_accepted_on, place_offered=case.place_offered_on,
        place_accepted=case.place_accepted_on, exclusion_start=case.exclusion_start,
        on_off_roll_event=case.off_roll_date, dob=case.dob)
    return compute_deadlines(facts, cal, today)

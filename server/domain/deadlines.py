"""Statutory and policy deadlines of a case, in school days (DESIGN.md, "Deadlines in school days").

Counting conventions (two, because the policy uses two phrasings):

* "By day N of absence / of exclusion" — the first day is day 1 when it is a school day, so the deadline is
  `cal.nth_school_day(first, N)` == `cal.add_school_days(first, N - 1)`. A first day that is not a school day
  (a weekend, a bank holiday, a holiday) is not counted: day 1 is the next school day. Used by `ao_consulted`
  (day 5), `referral_due` (day 10), `earliest_removal_from_roll` (day 20) and `exclusion_sixth_day` (day 6).
* "N school days after an event" — the event's own day is not counted: `cal.add_school_days(event, N)`.
  Used by `place_acceptance` (20) and `on_off_roll_notification` (5).

`met` is True/False once the fact that meets the deadline is recorded (on or before `due` is on time), False
when nothing is recorded and `due` has passed, and None while it is still open. `overdue` means still
outstanding after `due`: nothing recorded and `today > due`. A deadline met late is `met=False, overdue=False`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from server.domain.school_age import compulsory_school_age
from server.domain.school_days import DayCount, SchoolCalendar

AWAITING_ACCEPTANCE = "not until the LA accepts the referral"


# The conventions, stated in every deadline the API returns (a reader should not need this docstring).
def day_n_of(start: str, n: int) -> str:
    return (f"school day {n} counting the first day of {start} as day 1 (if that day is not a school day, "
            "day 1 is the next school day)")


def days_after(n: int, event: str) -> str:
    return f"{n} school days after {event}, not counting the day itself"


CALENDAR_DATE = "a calendar date (the school leaving date), not a count of school days"


@dataclass(frozen=True)
class DeadlineFacts:
    """What is known about a case that starts or meets a deadline. Any may be unknown (None)."""

    first_day_of_absence: date | None = None
    referral_received: date | None = None
    referral_accepted: date | None = None  # the LA accepted the CME referral
    place_offered: date | None = None
    place_accepted: date | None = None
    exclusion_start: date | None = None
    on_off_roll_event: date | None = None  # the day a school removed or added the pupil
    dob: date | None = None
    # Facts that meet the remaining deadlines, when the register records them.
    ao_consulted_on: date | None = None
    on_off_roll_notified: date | None = None
    education_provided_from: date | None = None  # suitable education arranged for an excluded pupil


@dataclass(frozen=True)
class Deadline:
    code: str
    label: str
    policy_ref: str
    due: date
    estimated: bool  # the due date relied on weekdays standing in for missing term dates
    met: bool | None  # None: not yet known
    overdue: bool  # outstanding and today > due
    note: str = ""
    convention: str = ""  # how `due` was counted, in words (see day_n_of, days_after)


def compute_deadlines(facts: DeadlineFacts, cal: SchoolCalendar, today: date) -> list[Deadline]:
    """The deadlines whose starting facts are known, in a fixed order (absence, place, exclusion, roll, age)."""
    found: list[Deadline | None] = []
    if facts.first_day_of_absence is not None:
        found += _absence_deadlines(facts, facts.first_day_of_absence, cal, today)
    found.append(_place_acceptance(facts, cal, today))
    found.append(_exclusion_sixth_day(facts, cal, today))
    found.append(_on_off_roll_notification(facts, cal, today))
    found.append(_school_age_ends(facts))
    return [deadline for deadline in found if deadline is not None]


def _judged(code: str, label: str, ref: str, due: DayCount, done: date | None, today: date,
            convention: str) -> Deadline:
    """A duty deadline: met when `done` is on or before the due date; overdue while not done after it."""
    if done is not None:
        met: bool | None = done <= due.date
    else:
        met = False if today > due.date else None
    overdue = done is None and today > due.date
    return Deadline(code, label, ref, due.date, due.estimated, met, overdue, convention=convention)


def _absence_deadlines(facts: DeadlineFacts, first: date, cal: SchoolCalendar, today: date) -> list[Deadline]:
    # §13.4 "discussion ... by 5th day of continuous absence", "a CME referral must be completed within 10 days".
    return [
        _judged("ao_consulted", "Attendance officer consulted", "§11.2/§13.4",
                cal.nth_school_day(first, 5), facts.ao_consulted_on, today, day_n_of("absence", 5)),
        _judged("referral_due", "CME referral due", "§11.2/§13.4",
                cal.nth_school_day(first, 10), facts.referral_received, today, day_n_of("absence", 10)),
        _earliest_removal(facts, first, cal),
    ]


def _earliest_removal(facts: DeadlineFacts, first: date, cal: SchoolCalendar) -> Deadline:
    """After 20 school days of continuous absence, and never before the LA has accepted the referral (§13.4).

    This is a permission, not a duty, so it is never met or overdue. The estimate flag follows the 20-day count
    even when acceptance is later: an estimated count can only be early, so the true day could still be later.
    """
    twentieth = cal.nth_school_day(first, 20)
    accepted = facts.referral_accepted
    due = twentieth.date if accepted is None else max(twentieth.date, accepted)
    note = AWAITING_ACCEPTANCE if accepted is None else ""
    return Deadline("earliest_removal_from_roll", "Earliest lawful removal from roll", "§13.4",
                    due, twentieth.estimated, None, False, note,
                    convention=day_n_of("absence", 20) + ", and not before the LA accepted the referral")


def _place_acceptance(facts: DeadlineFacts, cal: SchoolCalendar, today: date) -> Deadline | None:
    if facts.place_offered is None:
        return None
    return _judged("place_acceptance", "Offered place to be accepted", "§6.8",
                   cal.add_school_days(facts.place_offered, 20), facts.place_accepted, today,
                   days_after(20, "the offer"))


def _exclusion_sixth_day(facts: DeadlineFacts, cal: SchoolCalendar, today: date) -> Deadline | None:
    if facts.exclusion_start is None:
        return None
    return _judged("exclusion_sixth_day", "Education from the 6th day of exclusion", "§8.1",
                   cal.nth_school_day(facts.exclusion_start, 6), facts.education_provided_from, today,
                   day_n_of("exclusion", 6))


def _on_off_roll_notification(facts: DeadlineFacts, cal: SchoolCalendar, today: date) -> Deadline | None:
    if facts.on_off_roll_event is None:
        return None
    return _judged("on_off_roll_notification", "On/off-roll notification", "§13.2",
                   cal.add_school_days(facts.on_off_roll_event, 5), facts.on_off_roll_notified, today,
                   days_after(5, "the pupil left or joined the roll"))


def _school_age_ends(facts: DeadlineFacts) -> Deadline | None:
    """A calendar date, not a duty: the case may close once it has passed (§11.9)."""
    if facts.dob is None:
        return None
    ends = compulsory_school_age(facts.dob).ends
    return Deadline("compulsory_school_age_ends", "Compulsory school age ends", "§11.9", ends, False, None, False,
                    convention=CALENDAR_DATE)

"""Case deadlines in school days (policy §6.8, §8.1, §11.2, §13.2, §13.4) and the end of compulsory school age."""
from __future__ import annotations

from datetime import date

import pytest

from server.domain.deadlines import AWAITING_ACCEPTANCE, Deadline, DeadlineFacts, compute_deadlines
from server.domain.school_days import SchoolCalendar, Term

D = date.fromisoformat

# A fictional council's 2025-26 terms; half-terms 27–31 Oct, 16–20 Feb, 25–29 May. 2026-27 is not loaded.
CAL = SchoolCalendar(
    Term("2025-26", name, D(start), D(end))
    for name, start, end in [
        ("Autumn 1", "2025-09-03", "2025-10-24"),
        ("Autumn 2", "2025-11-03", "2025-12-19"),
        ("Spring 1", "2026-01-05", "2026-02-13"),
        ("Spring 2", "2026-02-23", "2026-03-27"),
        ("Summer 1", "2026-04-13", "2026-05-22"),
        ("Summer 2", "2026-06-01", "2026-07-22"),
    ]
)
ABSENT_FROM = D("2025-10-20")  # a Monday: day 5 is Fri 24 Oct, day 10 Fri 7 Nov, day 20 Fri 21 Nov


def deadline(facts: DeadlineFacts, code: str, today: date = D("2025-10-20")) -> Deadline:
    found = {d.code: d for d in compute_deadlines(facts, CAL, today)}
    return found[code]


def test_only_deadlines_with_their_facts_are_returned() -> None:
    today = D("2025-10-20")
    assert compute_deadlines(DeadlineFacts(), CAL, today) == []
    assert [d.code for d in compute_deadlines(DeadlineFacts(dob=D("2012-05-01")), CAL, today)] == [
        "compulsory_school_age_ends"
    ]
    # Facts that only meet a deadline start none.
    assert compute_deadlines(DeadlineFacts(referral_received=today, place_accepted=today), CAL, today) == []


def test_all_deadlines_in_a_fixed_order() -> None:
    facts = DeadlineFacts(
        first_day_of_absence=ABSENT_FROM, place_offered=D("2026-04-30"), exclusion_start=D("2026-02-12"),
        on_off_roll_event=D("2025-12-17"), dob=D("2009-08-31"),
    )
    assert [d.code for d in compute_deadlines(facts, CAL, D("2025-10-20"))] == [
        "ao_consulted", "referral_due", "earliest_removal_from_roll", "place_acceptance",
        "exclusion_sixth_day", "on_off_roll_notification", "compulsory_school_age_ends",
    ]


# --- counting convention: the first day of absence is day 1 -------------------------------------------------


@pytest.mark.parametrize(
    ("code", "due"),
    [("ao_consulted", "2025-10-24"), ("referral_due", "2025-11-07"), ("earliest_removal_from_roll", "2025-11-21")],
)
def test_absence_deadlines_count_the_first_day_as_day_1(code: str, due: str) -> None:
    d = deadline(DeadlineFacts(first_day_of_absence=ABSENT_FROM), code)
    assert d.due == D(due) and d.estimated is False


@pytest.mark.parametrize(
    ("first_day", "ao_due"),
    [
        ("2025-10-18", "2025-10-24"),  # a Saturday is not counted: day 1 is Monday 20 Oct
        ("2025-10-27", "2025-11-07"),  # first day in half-term: day 1 is Monday 3 Nov
        ("2025-10-22", "2025-11-04"),  # Wed 22 (1), 23, 24, half-term, Mon 3 Nov (4), Tue 4 Nov (5)
    ],
)
def test_day_1_convention_from_other_first_days(first_day: str, ao_due: str) -> None:
    assert deadline(DeadlineFacts(first_day_of_absence=D(first_day)), "ao_consulted").due == D(ao_due)


def test_ao_consulted_labels() -> None:
    d = deadline(DeadlineFacts(first_day_of_absence=ABSENT_FROM), "ao_consulted")
    assert (d.label, d.policy_ref, d.note) == ("Attendance officer consulted", "§11.2/§13.4", "")


@pytest.mark.parametrize(
    ("consulted", "today", "met", "overdue"),
    [
        (None, "2025-10-22", None, False),  # still open
        (None, "2025-10-24", None, False),  # due today is not overdue
        (None, "2025-10-27", False, True),  # passed with nothing recorded
        ("2025-10-24", "2025-11-20", True, False),
        ("2025-10-28", "2025-11-20", False, False),  # met late: no longer outstanding
    ],
)
def test_ao_consulted_met_and_overdue(consulted: str | None, today: str, met: bool | None, overdue: bool) -> None:
    facts = DeadlineFacts(first_day_of_absence=ABSENT_FROM, ao_consulted_on=consulted and D(consulted))
    d = deadline(facts, "ao_consulted", D(today))
    assert (d.met, d.overdue) == (met, overdue)


@pytest.mark.parametrize(
    ("received", "today", "met", "overdue"),
    [
        ("2025-11-07", "2025-11-20", True, False),
        ("2025-11-10", "2025-11-20", False, False),
        (None, "2025-11-07", None, False),
        (None, "2025-11-08", False, True),
    ],
)
def test_referral_due(received: str | None, today: str, met: bool | None, overdue: bool) -> None:
    facts = DeadlineFacts(first_day_of_absence=ABSENT_FROM, referral_received=received and D(received))
    d = deadline(facts, "referral_due", D(today))
    assert (d.label, d.policy_ref, d.due) == ("CME referral due", "§11.2/§13.4", D("2025-11-07"))
    assert (d.met, d.overdue) == (met, overdue)


@pytest.mark.parametrize(
    ("accepted", "due", "note"),
    [
        (None, "2025-11-21", AWAITING_ACCEPTANCE),
        ("2025-11-10", "2025-11-21", ""),  # accepted early: 20 school days still apply
        ("2025-12-01", "2025-12-01", ""),  # accepted late: not before the LA accepted
    ],
)
def test_earliest_removal_from_roll(accepted: str | None, due: str, note: str) -> None:
    facts = DeadlineFacts(first_day_of_absence=ABSENT_FROM, referral_accepted=accepted and D(accepted))
    d = deadline(facts, "earliest_removal_from_roll", D("2026-01-10"))
    assert (d.label, d.policy_ref) == ("Earliest lawful removal from roll", "§13.4")
    assert (d.due, d.note) == (D(due), note)
    assert (d.met, d.overdue) == (None, False)  # a permission, never overdue


@pytest.mark.parametrize(
    ("accepted", "met"), [("2026-06-05", True), ("2026-06-08", False), (None, None)]
)
def test_place_acceptance_is_20_school_days_after_the_offer(accepted: str | None, met: bool | None) -> None:
    # Offered Thu 30 Apr 2026: skips the 4 May bank holiday and the 25–29 May half-term.
    facts = DeadlineFacts(place_offered=D("2026-04-30"), place_accepted=accepted and D(accepted))
    d = deadline(facts, "place_acceptance", D("2026-05-20"))
    assert (d.label, d.policy_ref, d.due, d.estimated) == (
        "Offered place to be accepted", "§6.8", D("2026-06-05"), False
    )
    assert d.met is met


def test_exclusion_sixth_day_counts_the_first_day_of_exclusion() -> None:
    # Thu 12 Feb (1), Fri 13 (2), half-term, Mon 23 (3) ... Thu 26 (6).
    d = deadline(DeadlineFacts(exclusion_start=D("2026-02-12")), "exclusion_sixth_day", D("2026-02-27"))
    assert (d.label, d.policy_ref, d.due) == ("Education from the 6th day of exclusion", "§8.1", D("2026-02-26"))
    assert (d.met, d.overdue) == (False, True)
    provided = DeadlineFacts(exclusion_start=D("2026-02-12"), education_provided_from=D("2026-02-26"))
    assert deadline(provided, "exclusion_sixth_day", D("2026-02-27")).met is True


def test_on_off_roll_notification_is_5_school_days_after_the_event() -> None:
    # Wed 17 Dec: 18, 19, Christmas holiday, 5, 6, 7 Jan.
    d = deadline(DeadlineFacts(on_off_roll_event=D("2025-12-17")), "on_off_roll_notification", D("2025-12-17"))
    assert (d.label, d.policy_ref, d.due, d.met) == ("On/off-roll notification", "§13.2", D("2026-01-07"), None)
    notified = DeadlineFacts(on_off_roll_event=D("2025-12-17"), on_off_roll_notified=D("2025-12-18"))
    assert deadline(notified, "on_off_roll_notification", D("2026-02-01")).met is True


def test_compulsory_school_age_ends_is_a_calendar_date() -> None:
    d = deadline(DeadlineFacts(dob=D("2009-08-31")), "compulsory_school_age_ends", D("2025-09-01"))
    assert (d.label, d.policy_ref, d.due) == ("Compulsory school age ends", "§11.9", D("2025-06-27"))
    assert (d.estimated, d.met, d.overdue) == (False, None, False)


def test_deadlines_without_term_dates_are_estimates() -> None:
    # 2026-27 has no term dates: Mon 7 Sep 2026 counts as day 1, weekdays less bank holidays after it.
    facts = DeadlineFacts(first_day_of_absence=D("2026-09-07"), on_off_roll_event=D("2026-09-07"))
    found = {d.code: d for d in compute_deadlines(facts, CAL, D("2026-09-07"))}
    assert found["ao_consulted"].due == D("2026-09-11")
    assert found["on_off_roll_notification"].due == D("2026-09-14")
    assert all(d.estimated for d in found.values())


def test_estimate_is_kept_when_a_later_acceptance_sets_the_removal_date() -> None:
    facts = DeadlineFacts(first_day_of_absence=D("2026-09-07"), referral_accepted=D("2026-12-01"))
    d = deadline(facts, "earliest_removal_from_roll", D("2026-09-07"))
    assert d.due == D("2026-12-01") and d.estimated is True

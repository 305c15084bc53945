"""School days from a fictional council's 2025-26 term dates, England bank holidays and closures."""
from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.domain.school_days import (
    DayCount,
    SchoolCalendar,
    SchoolDayCount,
    Term,
    TermDatesError,
    academic_year_of,
    parse_term_dates,
)

D = date.fromisoformat

# Half-terms: 27–31 Oct, 16–20 Feb, 25–29 May (with the spring bank holiday); Easter 30 Mar–10 Apr.
TERMS_CSV = """academic_year,name,start,end
2025-26,Autumn 1,2025-09-03,2025-10-24
2025-26,Autumn 2,2025-11-03,2025-12-19
2025-26,Spring 1,2026-01-05,2026-02-13
2025-26,Spring 2,2026-02-23,2026-03-27
2025-26,Summer 1,2026-04-13,2026-05-22
2025-26,Summer 2,2026-06-01,2026-07-22
"""
TERMS_JSON = {
    "academic_year": "2025-26",
    "terms": [
        {"name": "Autumn 1", "start": "2025-09-03", "end": "2025-10-24"},
        {"name": "Autumn 2", "start": "2025-11-03", "end": "2025-12-19"},
        {"name": "Spring 1", "start": "2026-01-05", "end": "2026-02-13"},
        {"name": "Spring 2", "start": "2026-02-23", "end": "2026-03-27"},
        {"name": "Summer 1", "start": "2026-04-13", "end": "2026-05-22"},
        {"name": "Summer 2", "start": "2026-06-01", "end": "2026-07-22"},
    ],
    "closures": [{"date": "2026-01-05", "reason": "INSET"}],
}


@pytest.fixture(scope="module")
def cal() -> SchoolCalendar:
    return SchoolCalendar(parse_term_dates(TERMS_CSV, "csv"))


# --- parsing -------------------------------------------------------------------------------------------------


def test_parse_csv() -> None:
    terms = parse_term_dates(TERMS_CSV, "csv")
    assert len(terms) == 6
    assert terms[0] == Term("2025-26", "Autumn 1", D("2025-09-03"), D("2025-10-24"))
    assert not any(term.is_closure for term in terms)


def test_parse_csv_tolerates_bom_spaces_case_and_blank_lines() -> None:
    text = "\ufeffAcademic_Year, name ,start,end\n\n 2025-26 , Autumn 1 , 2025-09-03 , 2025-10-24 \n,,,\n"
    assert parse_term_dates(text, "CSV") == [Term("2025-26", "Autumn 1", D("2025-09-03"), D("2025-10-24"))]


def test_parse_json_object_with_closures_matches_csv() -> None:
    terms = parse_term_dates(json.dumps(TERMS_JSON), "json")
    assert [t for t in terms if not t.is_closure] == parse_term_dates(TERMS_CSV, "csv")
    assert [t for t in terms if t.is_closure] == [Term("2025-26", "closure: INSET", D("2026-01-05"), D("2026-01-05"))]


def test_parse_json_list_of_years() -> None:
    later = {"academic_year": "2026-27", "terms": [{"name": "Autumn 1", "start": "2026-09-02", "end": "2026-10-23"}]}
    terms = parse_term_dates(json.dumps([TERMS_JSON, later]), "json")
    assert {t.academic_year for t in terms} == {"2025-26", "2026-27"}


def test_terms_may_run_from_1_august_to_31_august_following() -> None:
    text = "academic_year,name,start,end\n2099-00,Whole year,2099-08-01,2100-08-31\n"
    assert parse_term_dates(text, "csv")[0].end == D("2100-08-31")  # 2099-00: consecutive across the century


HEADER = "academic_year,name,start,end\n"
GOOD_ROW = "2025-26,Autumn 1,2025-09-03,2025-10-24\n"


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        ("academic_year,name,start\n2025-26,Autumn 1,2025-09-03\n", "header", "missing column(s): end"),
        ("", "header", "missing column(s)"),
        (HEADER + GOOD_ROW + "2025-26,Autumn 2,2025-11-31,2025-12-19\n", "row 3: start", "not a date"),
        (HEADER + "2025-26,Autumn 1,2025-09-03,\n", "row 2: end", "required"),
        (HEADER + "2025-26,Autumn 1,2025-10-24,2025-09-03\n", "row 2: end", "before it starts"),
        (HEADER + GOOD_ROW + "2025-26,Autumn 2,2025-10-24,2025-12-19\n", "row 3: start", "overlaps Autumn 1"),
        (HEADER + "2025-27,Autumn 1,2025-09-03,2025-10-24\n", "row 2: academic_year", "consecutive"),
        (HEADER + "2025/26,Autumn 1,2025-09-03,2025-10-24\n", "row 2: academic_year", "2025-26"),
        (HEADER + "25-26,Autumn 1,2025-09-03,2025-10-24\n", "row 2: academic_year", "2025-26"),
        (HEADER + "2025-26,Early,2025-07-31,2025-10-24\n", "row 2: start", "outside academic year 2025-26"),
        (HEADER + "2025-26,Late,2026-06-01,2026-09-01\n", "row 2: end", "outside academic year 2025-26"),
        (HEADER + "2025-26,,2025-09-03,2025-10-24\n", "row 2: name", "required"),
    ],
)
def test_csv_errors_name_the_row_and_field(text: str, field: str, words: str) -> None:
    with pytest.raises(TermDatesError) as raised:
        parse_term_dates(text, "csv")
    assert raised.value.field == field
    assert words in str(raised.value)


def test_overlap_across_academic_years_is_an_error() -> None:
    text = HEADER + "2024-25,Summer 2,2025-06-02,2025-08-15\n2025-26,Autumn 1,2025-08-10,2025-10-24\n"
    with pytest.raises(TermDatesError, match="overlaps Summer 2"):
        parse_term_dates(text, "csv")


def _with(**changes: object) -> str:
    return json.dumps({**TERMS_JSON, **changes})


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("{not json", "json"),
        ("42", "json"),
        (_with(terms=None), "terms"),
        (_with(academic_year="2025-2026"), "academic_year"),
        (_with(terms=[*TERMS_JSON["terms"][:2], {"name": "Spring 1", "start": "2026-01-05", "end": "soon"}]),
         "terms[2].end"),
        (_with(terms=["Autumn 1"]), "terms[0]"),
        (_with(closures=[{"date": "2026-13-01"}]), "closures[0].date"),
        (_with(closures=[{"date": "2027-01-04"}]), "closures[0].date"),  # outside 2025-26
        (json.dumps([TERMS_JSON, {"academic_year": "2026-27", "terms": [{"name": "A", "end": "2026-10-23"}]}]),
         "[1].terms[0].start"),
    ],
)
def test_json_errors_name_the_field(text: str, field: str) -> None:
    with pytest.raises(TermDatesError) as raised:
        parse_term_dates(text, "json")
    assert raised.value.field == field


def test_unknown_format_and_error_is_a_value_error() -> None:
    with pytest.raises(ValueError) as raised:
        parse_term_dates(TERMS_CSV, "xml")
    assert isinstance(raised.value, TermDatesError) and raised.value.field == "fmt"


# --- is_school_day and covers --------------------------------------------------------------------------------


def test_academic_year_of() -> None:
    assert academic_year_of(D("2025-09-01")) == "2025-26"
    assert academic_year_of(D("2026-08-31")) == "2025-26"
    assert academic_year_of(D("1999-12-31")) == "1999-00"


def test_covers_the_whole_academic_year_only(cal: SchoolCalendar) -> None:
    assert cal.covers(D("2025-09-01")) and cal.covers(D("2026-08-31"))
    assert not cal.covers(D("2025-08-31")) and not cal.covers(D("2026-09-01"))


@pytest.mark.parametrize(
    ("day", "school"),
    [
        ("2025-09-03", True),  # first day of term
        ("2025-09-02", False),  # before term starts, in a loaded year
        ("2025-09-06", False),  # Saturday
        ("2025-10-27", False),  # half-term
        ("2025-12-25", False),  # Christmas holiday
        ("2026-05-04", False),  # early May bank holiday, in term
        ("2026-05-05", True),
        ("2026-08-03", False),  # summer holiday, loaded year
        ("2026-09-01", True),  # 2026-27 not loaded: a weekday is presumed a school day
        ("2026-08-31", False),  # late summer bank holiday
        ("2025-08-25", False),  # late summer bank holiday in an unloaded year
    ],
)
def test_is_school_day(cal: SchoolCalendar, day: str, school: bool) -> None:
    assert cal.is_school_day(D(day)) is school


def test_closures_from_json_or_argument_are_not_school_days() -> None:
    from_json = SchoolCalendar(parse_term_dates(json.dumps(TERMS_JSON), "json"))
    from_arg = SchoolCalendar(parse_term_dates(TERMS_CSV, "csv"), closures=[D("2026-01-05")])
    for cal in (from_json, from_arg):
        assert not cal.is_school_day(D("2026-01-05")) and cal.is_school_day(D("2026-01-06"))


def test_csv_closure_rows_may_span_days_and_do_not_mark_a_year_loaded() -> None:
    text = TERMS_CSV + "2026-27,closure: strike,2026-09-07,2026-09-08\n"
    cal = SchoolCalendar(parse_term_dates(text, "csv"))
    assert not cal.is_school_day(D("2026-09-07")) and not cal.is_school_day(D("2026-09-08"))
    assert not cal.covers(D("2026-09-07"))


def test_overlapping_terms_given_directly_are_merged() -> None:
    cal = SchoolCalendar([Term("2025-26", "A", D("2025-09-01"), D("2025-12-19")),
                          Term("2025-26", "B", D("2025-10-01"), D("2025-10-03"))])
    assert cal.is_school_day(D("2025-11-03"))


# --- counting ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "n", "due"),
    [
        ("2025-10-22", 5, "2025-11-05"),  # across October half-term
        ("2025-12-17", 5, "2026-01-07"),  # across the Christmas holiday
        ("2026-03-26", 2, "2026-04-13"),  # across Easter (Good Friday, Easter Monday in the holiday)
        ("2026-05-01", 1, "2026-05-05"),  # across the early May bank holiday (4 May 2026)
        ("2026-05-21", 3, "2026-06-02"),  # across May half-term and the spring bank holiday
        ("2025-10-22", 0, "2025-10-22"),
        ("2025-10-25", 1, "2025-11-03"),  # counting from a non-school day
    ],
)
def test_add_school_days_with_term_dates(cal: SchoolCalendar, start: str, n: int, due: str) -> None:
    assert cal.add_school_days(D(start), n) == DayCount(D(due), estimated=False)


def test_add_school_days_across_the_christmas_inset_day() -> None:
    cal = SchoolCalendar(parse_term_dates(json.dumps(TERMS_JSON), "json"))
    assert cal.add_school_days(D("2025-12-17"), 5) == DayCount(D("2026-01-08"), estimated=False)


def test_without_term_dates_weekdays_less_bank_holidays_are_an_estimate() -> None:
    empty = SchoolCalendar([])
    assert empty.add_school_days(D("2025-10-22"), 5) == DayCount(D("2025-10-29"), estimated=True)
    # 25 August 2025 is the late summer bank holiday.
    assert empty.add_school_days(D("2025-08-22"), 1) == DayCount(D("2025-08-26"), estimated=True)


def test_estimate_starts_where_loaded_term_dates_stop(cal: SchoolCalendar) -> None:
    # 23 Jul – 31 Aug 2026 is the (loaded) summer holiday, 31 Aug the late summer bank holiday; 2026-27 is missing.
    assert cal.add_school_days(D("2026-07-21"), 1) == DayCount(D("2026-07-22"), estimated=False)
    assert cal.add_school_days(D("2026-07-22"), 1) == DayCount(D("2026-09-01"), estimated=True)
    assert cal.add_school_days(D("2025-08-22"), 1) == DayCount(D("2025-08-26"), estimated=True)


def test_loading_the_next_year_removes_the_estimate() -> None:
    text = TERMS_CSV + "2026-27,Autumn 1,2026-09-03,2026-10-23\n"
    cal = SchoolCalendar(parse_term_dates(text, "csv"))
    assert cal.add_school_days(D("2026-07-22"), 1) == DayCount(D("2026-09-03"), estimated=False)


def test_n_must_not_be_negative(cal: SchoolCalendar) -> None:
    with pytest.raises(ValueError):
        cal.add_school_days(D("2025-10-22"), -1)
    with pytest.raises(ValueError):
        cal.nth_school_day(D("2025-10-22"), 0)


def test_nth_school_day_counts_the_first_day_when_it_is_a_school_day(cal: SchoolCalendar) -> None:
    assert cal.nth_school_day(D("2025-10-20"), 1).date == D("2025-10-20")
    assert cal.nth_school_day(D("2025-10-20"), 5).date == D("2025-10-24")
    assert cal.nth_school_day(D("2025-10-25"), 1).date == D("2025-11-03")  # Saturday in half-term


def test_school_days_between(cal: SchoolCalendar) -> None:
    assert cal.school_days_between(D("2025-10-24"), D("2025-11-03")) == SchoolDayCount(1, False)
    assert cal.school_days_between(D("2025-11-03"), D("2025-10-24")) == SchoolDayCount(-1, False)
    assert cal.school_days_between(D("2025-10-24"), D("2025-10-24")) == SchoolDayCount(0, False)
    assert cal.school_days_between(D("2026-07-22"), D("2026-09-01")) == SchoolDayCount(1, True)


# --- properties ----------------------------------------------------------------------------------------------

starts = st.dates(min_value=date(2025, 6, 1), max_value=date(2026, 12, 31))
counts = st.integers(min_value=0, max_value=80)
PROPERTY_CAL = SchoolCalendar(parse_term_dates(json.dumps(TERMS_JSON), "json"))


@given(starts, counts)
def test_add_then_count_round_trips(start: date, n: int) -> None:
    reached = PROPERTY_CAL.add_school_days(start, n)
    assert PROPERTY_CAL.school_days_between(start, reached.date) == SchoolDayCount(n, reached.estimated)
    examined = [start + timedelta(days=i) for i in range(1, (reached.date - start).days + 1)]
    assert reached.estimated == any(not PROPERTY_CAL.covers(day) for day in examined)


@given(starts, counts.filter(lambda n: n >= 1))
def test_result_is_the_first_school_day_reaching_n(start: date, n: int) -> None:
    reached = PROPERTY_CAL.add_school_days(start, n).date
    assert PROPERTY_CAL.is_school_day(reached)
    assert PROPERTY_CAL.school_days_between(start, reached - timedelta(days=1)).count == n - 1

"""School days: the council's term dates (data it loads) minus weekends, England bank holidays and closures.

Where no term dates are loaded for an academic year, weekdays less bank holidays stand in for school days and
every answer that relied on them says it is an estimate (DESIGN.md, "Deadlines in school days").
`parse_term_dates` (bottom of the module) reads the council's term-dates file.
"""
from __future__ import annotations

import bisect
import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

import holidays

from server.domain.errors import InvalidInput
from sync.problems import described

CLOSURE_PREFIX = "closure:"
CSV_COLUMNS = ("academic_year", "name", "start", "end")
_ACADEMIC_YEAR = re.compile(r"(\d{4})-(\d{2})")
_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Term:
    """A run of days, inclusive. A name starting "closure:" marks non-teaching days (INSET, emergency closure)."""

    academic_year: str
    name: str
    start: date
    end: date

    @property
    def is_closure(self) -> bool:
        return self.name.strip().lower().startswith(CLOSURE_PREFIX)

    def days(self) -> Iterator[date]:
        day = self.start
        while day <= self.end:
            yield day
            day += _ONE_DAY


@dataclass(frozen=True)
class DayCount:
    """A date reached by counting school days; `estimated` when any day counted had no term dates loaded."""

    date: date
    estimated: bool


@dataclass(frozen=True)
class SchoolDayCount:
    """A number of school days; `estimated` when any day counted had no term dates loaded."""

    count: int
    estimated: bool


class TermDatesError(InvalidInput, ValueError):
    """The term-dates file is wrong. `field` says where: "terms[2].end", "row 3: start", "header"."""

    code, title, status = described("invalid-term-dates")

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", field=field)
        self.message = message


@lru_cache(maxsize=None)
def _bank_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year))


def is_bank_holiday(day: date) -> bool:
    """An England (and Wales) bank holiday, including substitute days."""
    return day in _bank_holidays(day.year)


def academic_year_of(day: date) -> str:
    """The "YYYY-YY" label of the academic year (1 Sept – 31 Aug) containing `day`."""
    first = day.year if day.month >= 9 else day.year - 1
    return f"{first}-{(first + 1) % 100:02d}"


class SchoolCalendar:
    """Answers "is this a school day?" and counts school days, from loaded term dates."""

    def __init__(self, terms: Iterable[Term], closures: Iterable[date] = ()) -> None:
        teaching: list[Term] = []
        closed = set(closures)
        for term in terms:
            if term.is_closure:
                closed.update(term.days())
            else:
                teaching.append(term)
        self._spans = _merge_spans(teaching)
        self._span_starts = [start for start, _ in self._spans]
        self._years = frozenset(term.academic_year for term in teaching)
        self._closures = frozenset(closed)

    def covers(self, day: date) -> bool:
        """Whether term dates are loaded for the academic year containing `day`."""
        return academic_year_of(day) in self._years

    def is_school_day(self, day: date) -> bool:
        if day.weekday() >= 5 or is_bank_holiday(day) or day in self._closures:
            return False
        # A loaded term decides; in a year with no term dates any remaining weekday is presumed a school day.
        return self._in_term(day) or not self.covers(day)

    def add_school_days(self, start: date, n: int) -> DayCount:
        """The n-th school day after `start` (start itself not counted); n == 0 returns `start`."""
        if n < 0:
            raise ValueError(f"n must be 0 or more, not {n}")
        day, found, estimated = start, 0, False
        while found < n:
            day += _ONE_DAY
            estimated = estimated or not self.covers(day)
            found += self.is_school_day(day)
        return DayCount(day, estimated)

    def nth_school_day(self, first: date, n: int) -> DayCount:
        """The n-th school day counting `first` as day 1 when it is a school day (n >= 1).

        When `first` is not a school day, day 1 is the next school day after it.
        """
        if n < 1:
            raise ValueError(f"n must be 1 or more, not {n}")
        return self.add_school_days(first - _ONE_DAY, n)

    def school_days_between(self, start: date, end: date) -> SchoolDayCount:
        """School days in (start, end]; negative (the count of (end, start]) when end is before start."""
        if end < start:
            reverse = self.school_days_between(end, start)
            return SchoolDayCount(-reverse.count, reverse.estimated)
        count, estimated, day = 0, False, start
        while day < end:
            day += _ONE_DAY
            estimated = estimated or not self.covers(day)
            count += self.is_school_day(day)
        return SchoolDayCount(count, estimated)

    def _in_term(self, day: date) -> bool:
        index = bisect.bisect_right(self._span_starts, day) - 1
        return index >= 0 and self._spans[index][1] >= day


def _merge_spans(terms: Iterable[Term]) -> list[tuple[date, date]]:
    """Sorted, non-overlapping (start, end) spans, so a bisect finds the one span that can hold a day."""
    spans: list[tuple[date, date]] = []
    for term in sorted(terms, key=lambda t: t.start):
        if spans and term.start <= spans[-1][1] + _ONE_DAY:
            spans[-1] = (spans[-1][0], max(spans[-1][1], term.end))
        else:
            spans.append((term.start, term.end))
    return spans


# --- Parsing the council's term-dates file -------------------------------------------------------------------


def parse_term_dates(text: str, fmt: str) -> list[Term]:
    """Terms (and closures, as terms named "closure: …") from CSV or JSON text; see the module tests for shapes.

    CSV: header `academic_year,name,start,end`, ISO dates; "row N" in errors is the line number, header = 1.
    JSON: `{"academic_year", "terms": [{name, start, end}], "closures": [{date, reason}]}` or a list of those.
    Raises TermDatesError on the first problem found.
    """
    kind = fmt.strip().lower()
    if kind == "csv":
        terms = _terms_from_csv(text)
    elif kind == "json":
        terms = _terms_from_json(text)
    else:
        raise TermDatesError("fmt", f'unknown format {fmt!r}; use "csv" or "json"')
    _need_some_terms(terms)
    _check_no_overlap(terms)
    return [term for term, _ in terms]


_Located = tuple[Term, str]  # a term and the field prefix to blame for it


def _terms_from_csv(text: str) -> list[_Located]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))  # tolerate a spreadsheet's BOM
    header = [column.strip().lower() for column in reader.fieldnames or []]
    missing = [column for column in CSV_COLUMNS if column not in header]
    if missing:
        raise TermDatesError("header", f"missing column(s): {', '.join(missing)}")
    found: list[_Located] = []
    for raw in reader:
        row = {key.strip().lower(): (value or "").strip() for key, value in raw.items() if isinstance(key, str)}
        if not any(row.values()):
            continue  # blank line
        where = f"row {reader.line_num}: "
        found.append((_make_term(row, where), where))
    return found


def _terms_from_json(text: str) -> list[_Located]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise TermDatesError("json", f"not valid JSON ({error.msg} at line {error.lineno})") from None
    if isinstance(document, dict):
        return _terms_from_year(document, "")
    if isinstance(document, list):
        found: list[_Located] = []
        for index, year in enumerate(document):
            found.extend(_terms_from_year(_need_object(year, f"[{index}]"), f"[{index}]."))
        return found
    raise TermDatesError("json", "expected an object or a list of objects")


def _terms_from_year(year: dict[str, Any], prefix: str) -> list[_Located]:
    academic_year = year.get("academic_year")
    found: list[_Located] = []
    for index, item in enumerate(_need_list(year.get("terms"), f"{prefix}terms")):
        where = f"{prefix}terms[{index}]"
        fields = _need_object(item, where)
        row = {"academic_year": academic_year, "name": fields.get("name"),
               "start": fields.get("start"), "end": fields.get("end")}
        found.append((_make_term(row, f"{where}.", year_field=f"{prefix}academic_year"), f"{where}."))
    for index, item in enumerate(_need_list(year.get("closures", []), f"{prefix}closures")):
        where = f"{prefix}closures[{index}]"
        fields = _need_object(item, where)
        reason = fields.get("reason") or "closed"
        row = {"academic_year": academic_year, "name": f"{CLOSURE_PREFIX} {reason}",
               "start": fields.get("date"), "end": fields.get("date")}
        found.append((_make_term(row, f"{where}.", date_name="date", year_field=f"{prefix}academic_year"), f"{where}."))
    if not found:  # it would load nothing for this year
        raise TermDatesError(f"{prefix}terms", "no terms: give at least one term (or closure) for the year")
    return found


def _make_term(row: dict[str, Any], where: str, *, date_name: str = "", year_field: str = "") -> Term:
    """One validated Term. `where` prefixes field names in errors; `date_name` names start/end for closures."""
    year_field = year_field or f"{where}academic_year"
    first, last = _academic_year_bounds(row.get("academic_year"), year_field)
    name = row.get("name")
    if not isinstance(name, str) or not name.strip():
        raise TermDatesError(f"{where}name", "a name is required")
    start = _parse_date(row.get("start"), f"{where}{date_name or 'start'}")
    end = _parse_date(row.get("end"), f"{where}{date_name or 'end'}")
    if end < start:
        raise TermDatesError(f"{where}end", f"ends ({end}) before it starts ({start})")
    if start < first or end > last:
        bad = date_name or ("start" if start < first else "end")
        raise TermDatesError(
            f"{where}{bad}", f"{start}–{end} is outside academic year {row['academic_year']} ({first} to {last})"
        )
    return Term(academic_year=row["academic_year"], name=name.strip(), start=start, end=end)


def _academic_year_bounds(label: Any, field: str) -> tuple[date, date]:
    """The dates a term of academic year "YYYY-YY" may fall on: 1 August YYYY to 31 August of the next year."""
    match = _ACADEMIC_YEAR.fullmatch(label) if isinstance(label, str) else None
    if match is None or (int(match[1]) + 1) % 100 != int(match[2]):
        raise TermDatesError(field, f'{label!r} is not an academic year like "2025-26" (consecutive years)')
    first = int(match[1])
    return date(first, 8, 1), date(first + 1, 8, 31)


def _parse_date(value: Any, field: str) -> date:
    if not isinstance(value, str) or not value.strip():
        raise TermDatesError(field, "a date (YYYY-MM-DD) is required")
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise TermDatesError(field, f"{value!r} is not a date (YYYY-MM-DD)") from None


def _need_some_terms(terms: list[_Located]) -> None:
    """A file that would load nothing (a CSV header alone, an empty JSON list) is a mistake, not a no-op."""
    if not terms:
        raise TermDatesError("terms", "no terms: the file holds no term dates")


def _check_no_overlap(terms: list[_Located]) -> None:
    """Teaching terms must not overlap; closures may fall anywhere inside their academic year."""
    teaching = sorted((located for located in terms if not located[0].is_closure), key=lambda x: x[0].start)
    for (before, _), (after, where) in zip(teaching, teaching[1:]):
        if after.start <= before.end:
            raise TermDatesError(
                f"{where}start",
                f"{after.name} ({after.start}–{after.end}) overlaps {before.name} ({before.start}–{before.end})",
            )


def _need_object(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TermDatesError(field, "expected an object")
    return value


def _need_list(value: Any, field: str) -> list[Any]:
    if not isinstance(value, list):
        raise TermDatesError(field, "expected a list")
    return value

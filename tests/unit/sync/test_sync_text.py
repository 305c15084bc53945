"""The shared judge of text and instants: what it refuses, what it lets through, and that it never raises."""

from datetime import date, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from sync.text import date_problem, instant_problem, latest_plausible, text_problem

UTC = timezone.utc


def test_plain_and_international_names_are_fine() -> None:
    for name in ("Ann-Marie O'Neil", "Zoë Łukasiewicz", "محمد", "مهرداد\u200cی", "👩\u200d👧", "José\u00a0Luis"):
        assert text_problem(name) is None


def test_osc_title_injection_is_refused_naming_the_character() -> None:
    assert text_problem("\x1b]0;pwned\x07") == "contains a control character (U+001B)"
    assert text_problem("a\x07") == "contains a control character (U+0007)"
    assert text_problem("\x9b2J") == "contains a control character (U+009B)"  # C1 CSI


def test_lone_surrogate_is_refused() -> None:
    assert text_problem("ab\ud800") == "contains a lone surrogate (U+D800)"
    assert text_problem("\udfff", multiline=True) == "contains a lone surrogate (U+DFFF)"


def test_bidi_override_and_zero_width_space_are_refused() -> None:
    assert text_problem("evil\u202etxt.exe") == "contains an invisible format character (U+202E)"
    assert text_problem("Sm\u200bith") == "contains an invisible format character (U+200B)"
    assert text_problem("\ufeffSmith") == "contains an invisible format character (U+FEFF)"


def test_newline_and_tab_only_in_multiline_fields() -> None:
    assert text_problem("line one\nline two\tend\r\n", multiline=True) is None
    assert text_problem("a\nb") == "contains a control character (U+000A)"
    assert text_problem("a\tb") == "contains a control character (U+0009)"
    assert text_problem("a\u2028b") == "contains a line break (U+2028)"
    assert text_problem("a\x1bb", multiline=True) == "contains a control character (U+001B)"


def test_non_text_is_refused_not_raised() -> None:
    assert text_problem(None) == "is not text"  # type: ignore[arg-type]
    assert instant_problem("2025-01-01") == "is not a date-time"  # type: ignore[arg-type]
    assert date_problem(datetime(2025, 1, 1, tzinfo=UTC)) == "is not a date"


def test_instant_whose_utc_value_overflows_is_refused() -> None:
    minus_one = timezone(timedelta(hours=-1))
    assert instant_problem(datetime(9999, 12, 31, 23, 30, tzinfo=minus_one)) == "is out of range"


def test_instant_bounds_and_naive_values() -> None:
    assert instant_problem(datetime(2025, 3, 1, 10, 0)) == "has no time zone"
    assert instant_problem(datetime(1999, 12, 31, 23, 0, tzinfo=UTC)) == "must be between 2000 and 2100"
    assert instant_problem(datetime(2101, 1, 1, tzinfo=UTC)) == "must be between 2000 and 2100"
    # local midnight 2000-01-01 at +01:00 is still 1999 in UTC
    assert instant_problem(datetime(2000, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1)))) is not None
    assert instant_problem(datetime(2025, 3, 1, 10, 0, tzinfo=UTC)) is None


def test_latest_bound_refuses_the_future() -> None:
    now = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    latest = latest_plausible(now)
    assert instant_problem(now + timedelta(hours=23), latest=latest) is None
    assert instant_problem(now + timedelta(days=2), latest=latest) == "is in the future"


def test_date_bounds() -> None:
    assert date_problem(date(2015, 6, 1)) is None
    assert date_problem(date(1, 1, 1)) == "must be between 1900 and 2100"
    assert date_problem(date(9999, 12, 31)) == "must be between 1900 and 2100"


@given(st.text())
def test_text_problem_never_raises_and_returns_a_reason_or_none(value: str) -> None:
    reason = text_problem(value)
    assert reason is None or reason.startswith("contains")


@given(st.text(alphabet=st.characters(categories=["L", "M", "N", "P", "S"])))
def test_letters_marks_numbers_punctuation_symbols_are_always_fine(value: str) -> None:
    assert text_problem(value) is None
    assert text_problem(value, multiline=True) is None


@given(st.text(), st.characters(categories=["Cc", "Cs"]).filter(lambda c: c not in "\n\t\r"), st.text())
def test_any_control_or_surrogate_anywhere_is_refused(before: str, bad: str, after: str) -> None:
    assert text_problem(before + bad + after, multiline=True) is not None


@given(st.text())
def test_accepted_text_encodes_as_utf8(value: str) -> None:
    if text_problem(value, multiline=True) is None:
        value.encode("utf-8")  # would raise on a surrogate


@given(st.datetimes(timezones=st.timezones()))
def test_accepted_instants_convert_to_utc_in_range(value: datetime) -> None:
    if instant_problem(value) is None:
        assert 2000 <= value.astimezone(UTC).year <= 2100


@given(st.datetimes(timezones=st.just(timezone(timedelta(hours=-23, minutes=-59)))))
def test_extreme_offsets_never_raise(value: datetime) -> None:
    reason = instant_problem(value)
    assert reason is None or reason in ("is out of range", "must be between 2000 and 2100")


def test_sync_text_imports_only_the_standard_library() -> None:
    import subprocess
    import sys

    code = "import sys, sync.text\nprint(','.join(m for m in sys.modules if m.split('.')[0] in ('flask', 'sqlalchemy', 'schemas', 'server', 'field_client', 'requests')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""

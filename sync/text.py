"""Which text and which instants the register accepts: one judge for the client (at capture) and the server (at push).

Text from referrers and officers is stored, synced, exported to the main register and printed on officers'
terminals, so characters that are invisible or act on a terminal are refused at the edge, with a reason naming
the character:

- lone surrogates (U+D800..U+DFFF): not text at all; they cannot be encoded as UTF-8 and break JSON and databases;
- control characters (Unicode category Cc: C0, DEL and C1): ESC/BEL drive terminals; only newline, tab and carriage
  return are allowed, and only in multi-line fields (notes);
- format characters (category Cf): bidi overrides (U+202E) and isolates reorder what the reader sees, zero-width
  spaces and U+FEFF hide differences between names. Decision: U+200D ZERO WIDTH JOINER and U+200C ZERO WIDTH
  NON-JOINER are allowed, because names in Persian, Arabic and Indic scripts (and emoji sequences) need them to be
  spelt correctly, and they neither reorder nor hide text;
- line and paragraph separators (U+2028, U+2029) in single-line fields, where they would smuggle a line break.

Unassigned code points are not refused: that would depend on the Unicode version of whoever judges.

Instants must be timezone-aware and fall within 2000..2100 in UTC: a wrong year is a typing slip, and an offset
near year 9999 overflows when converted to UTC. Callers add their own "not in the future" bound via `latest`.
"""

from __future__ import annotations

import unicodedata
from datetime import date, datetime, timedelta, timezone

# Joiners that spell names correctly in several scripts; see the module docstring.
ALLOWED_FORMAT = frozenset({"\u200c", "\u200d"})
MULTILINE_CONTROLS = frozenset({"\n", "\t", "\r"})
EARLIEST_YEAR = 2000
LATEST_YEAR = 2100
# How far ahead of the judge's clock a "now" instant may be: device clocks drift, and zones differ.
CLOCK_SLACK = timedelta(days=1)


def _char_problem(ch: str, multiline: bool) -> str | None:
    code = f"U+{ord(ch):04X}"
    category = unicodedata.category(ch)
    if category == "Cs":
        return f"contains a lone surrogate ({code})"
    if category == "Cc":
        if multiline and ch in MULTILINE_CONTROLS:
            return None
        return f"contains a control character ({code})"
    if category == "Cf" and ch not in ALLOWED_FORMAT:
        return f"contains an invisible format character ({code})"
    if category in ("Zl", "Zp") and not multiline:
        return f"contains a line break ({code})"
    return None


def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """None when `value` is acceptable text, otherwise a short reason such as
    "contains a control character (U+001B)". `multiline` allows newline, tab and carriage return (notes)."""
    if not isinstance(value, str):
        return "is not text"
    for ch in value:
        if ch.isprintable() or ch == " ":
            continue  # fast path: printable characters are never refused
        reason = _char_problem(ch, multiline)
        if reason:
            return reason
    return None


def instant_problem(value: datetime, *, latest: datetime | None = None) -> str | None:
    """None when `value` is a plausible instant, otherwise a short reason. Refuses naive date-times, instants
    whose UTC value overflows, years outside 2000..2100 in UTC, and (when given) anything after `latest`."""
    if not isinstance(value, datetime):
        return "is not a date-time"
    if value.utcoffset() is None:
        return "has no time zone"
    try:
        utc = value.astimezone(timezone.utc)
    except (OverflowError, ValueError):
        return "is out of range"
    if not EARLIEST_YEAR <= utc.year <= LATEST_YEAR:
        return f"must be between {EARLIEST_YEAR} and {LATEST_YEAR}"
    if latest is not None and utc > latest:
        return "is in the future"
    return None


def date_problem(value: date, *, earliest_year: int = 1900, latest_year: int = LATEST_YEAR) -> str | None:
    """None when `value` is a plausible calendar date (default years 1900..2100, wide enough for a carer's date
    of birth), otherwise a short reason."""
    if not isinstance(value, date) or isinstance(value, datetime):
        return "is not a date"
    if not earliest_year <= value.year <= latest_year:
        return f"must be between {earliest_year} and {latest_year}"
    return None


def latest_plausible(now: datetime) -> datetime:
    """The latest instant a "when did this happen" field may hold, judged at `now` (aware): now plus clock slack."""
    return now.astimezone(timezone.utc) + CLOCK_SLACK

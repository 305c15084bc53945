"""Screening of every request's input before any view: what schemas cannot catch."""
from __future__ import annotations

import json
from typing import Any

from flask import request

from ..domain.errors import DomainError, InvalidInput
from ..domain.storable import storable
from sync.problems import described
from sync.text import text_problem


# A push is judged op by op (sync rules keep a bad op for review), so its text is not refused here as a whole.
TEXT_CHECK_EXEMPT = frozenset({"/api/sync/push"})
MAX_JSON_DEPTH = 32  # the deepest body this API takes nests about 6 levels
# Python refuses to convert integers of more than 4300 digits (a ValueError deep in parsing); ids here fit 2**53,
# so a far longer literal is refused up front as a malformed body.
MAX_INT_DIGITS = 1000
BOM = "\ufeff"


class MalformedBody(DomainError):
    code, title, status = described("malformed-body")


class _LongNumber(Exception):
    """Raised from inside the JSON parser, where a ValueError would read as "not JSON"."""


def screen_input() -> None:
    """Before each request, what schemas cannot catch: JSON nested so deep that parsing it would exhaust the
    stack, or with integers too long to convert (400); and text no field may hold (422 on the field), judged by
    `sync.text.text_problem` as ops are: NUL and lone surrogates (no database stores them), control characters
    other than line breaks and tabs, invisible format characters. Fields that must be one line refuse line
    breaks too, in their schemas. Non-JSON bodies (tus chunks) are not read here."""
    for name, values in request.args.lists():
        for value in (name, *values):
            problem = text_problem(value)
            if problem:
                raise InvalidInput(_refusal(problem), field=storable(name))
    if not request.is_json:
        return
    document = _parsed_body()
    bad_at, problem, depth = _scan(document)
    if depth > MAX_JSON_DEPTH:
        raise MalformedBody(f"the JSON nests deeper than {MAX_JSON_DEPTH} levels")
    if problem is not None and request.path not in TEXT_CHECK_EXEMPT:
        raise InvalidInput(_refusal(problem), field=bad_at or "body")


def _refusal(problem: str) -> str:
    return "text " + problem.replace("(U+0000)", "(U+0000, NUL)")


def _parsed_body() -> Any:
    """The JSON body (None when it is not JSON: the schema then says so), refusing over-long integer literals."""
    try:
        document = request.get_json(silent=True)
        if document is None and request.get_data(cache=True):
            json.loads(request.get_data(cache=True), parse_int=_int_literal)  # why it failed, if it is ours
    except RecursionError:
        raise MalformedBody(f"the JSON nests deeper than {MAX_JSON_DEPTH} levels") from None
    except _LongNumber:
        raise MalformedBody(f"a number in the body has more than {MAX_INT_DIGITS} digits") from None
    except ValueError:
        return None  # not JSON at all: the schema's parser answers 400 malformed-body
    return document


def _int_literal(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_INT_DIGITS:
        raise _LongNumber
    return int(digits)


def _scan(document: Any) -> tuple[str | None, str | None, int]:
    """The dotted path of the first string (or key) that is not acceptable text, the reason (or None), and the
    nesting depth; iterative. A leading byte-order mark is a file's, not text (a pasted term-dates CSV)."""
    first: tuple[str | None, str | None] = (None, None)
    deepest = 0
    stack: list[tuple[str, Any, int]] = [("", document, 0)]
    while stack:
        path, value, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(value, str):
            problem = text_problem(value.removeprefix(BOM), multiline=True) if first[1] is None else None
            first = (path, problem) if problem else first
            continue
        items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
        children = []
        for key, item in items:
            here = f"{path}.{key}" if path else str(key)
            problem = text_problem(str(key)) if first[1] is None else None
            first = (storable(here), f"(in a key) {problem}") if problem else first
            children.append((here, item, depth + 1))
        stack.extend(reversed(children))
    return first[0], first[1], deepest

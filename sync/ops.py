"""Operations pushed by a device (DESIGN principles 1-3, 8, 9).

Decision: payload validation is plain Python here (`validate_payload`), the single judge that the server applies
and the client runs before queueing, so both reach the same verdict. `schemas.ops.OpSchema` only describes the
envelope for OpenAPI and checks the same structural rules as `Op.from_wire`; `sync` never imports `schemas`.

Two levels of failure, so that nothing captured is lost:
- `Op.from_wire` raises `OpInvalid` only when the op cannot be represented at all (no op_id, payload not an
  object, wrong JSON types in the envelope).
- `validate_payload` returns `Problem`s for everything else (unknown kind, bad UUID, bad dates, payload rules);
  the server quarantines such an op (reason `unknown_kind` when `not is_known_kind(op.kind)`, else `invalid`).
Optional payload fields may be absent or null. Unknown payload keys are problems (catches typos); unknown
envelope keys are ignored (and so are not part of the fingerprint).
"""

from __future__ import annotations

import copy
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

from sync.conflicts import is_editable, validate_address, validate_value
from sync.errors import OpInvalid, Problem
from sync.text import instant_problem, text_problem
from sync.vocabulary import AddressCheckResult, AddressCheckSource, OpKind, VisitOutcome

__all__ = [
    "Op", "Problem", "fingerprint", "canonical_json", "validate_payload", "is_known_kind", "judge_fact",
    "MAX_PHOTO_BYTES", "PHOTO_CONTENT_TYPES", "MAX_NOTES", "MAX_PERSON", "MAX_CAPTION", "MAX_OP_ID",
]

MAX_PHOTO_BYTES = 64 * 1024 * 1024
PHOTO_CONTENT_TYPES = frozenset({"image/jpeg", "image/png", "image/heic", "image/webp", "application/pdf"})
MAX_NOTES = 4000
MAX_PERSON = 200
MAX_CAPTION = 500
MAX_OP_ID = 64
MAX_KIND = 64


MAX_ID = 2**53  # ids and versions fit a PostgreSQL bigint and a JSON number without loss


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, ASCII, no NaN: identical bytes on server and client."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


@dataclass(frozen=True)
class Op:
    """One operation as pushed. `kind` is a str (not OpKind) so unknown kinds can be carried and quarantined."""

    op_id: str
    kind: str
    case_id: int | None
    device_time: str
    payload: dict[str, Any] = field(hash=False)
    base_version: int | None = None

    @classmethod
    def from_wire(cls, d: dict[str, Any]) -> Op:
        """Build an Op from its JSON object; raise OpInvalid(field, message) if it cannot be represented."""
        if not isinstance(d, dict):
            raise OpInvalid("op", "must be an object")
        op_id, kind, device_time = d.get("op_id"), d.get("kind"), d.get("device_time")
        if not isinstance(op_id, str) or not op_id.strip() or len(op_id) > MAX_OP_ID:
            raise OpInvalid("op_id", f"required: a non-empty string of at most {MAX_OP_ID} characters")
        if not isinstance(kind, str) or not kind or len(kind) > MAX_KIND:
            raise OpInvalid("kind", f"required: a non-empty string of at most {MAX_KIND} characters")
        for name, value in (("op_id", op_id), ("kind", kind)):  # keys of the server's records: plain text only
            problem = text_problem(value)
            if problem:
                raise OpInvalid(name, problem)
        if not isinstance(device_time, str):
            raise OpInvalid("device_time", "required: an ISO 8601 string")
        for name in ("case_id", "base_version"):
            if d.get(name) is not None and not _is_int(d[name]):
                raise OpInvalid(name, "must be an integer or null")
        payload = d.get("payload")
        if not isinstance(payload, dict):
            raise OpInvalid("payload", "required: an object")
        try:
            canonical_json(payload)
        except (TypeError, ValueError) as exc:
            raise OpInvalid("payload", f"not representable as JSON: {exc}") from exc
        # Deep copy: the Op must not change if the caller later mutates its dict.
        return cls(op_id, kind, d.get("case_id"), device_time, copy.deepcopy(payload), d.get("base_version"))

    def to_wire(self) -> dict[str, Any]:
        """The JSON object for this op; every envelope key is always present so fingerprints are stable."""
        return {
            "op_id": self.op_id,
            "kind": self.kind,
            "case_id": self.case_id,
            "device_time": self.device_time,
            "payload": copy.deepcopy(self.payload),
            "base_version": self.base_version,
        }


def fingerprint(op: Op) -> str:
    """sha256 hex of the canonical wire form: same op_id + same fingerprint = duplicate, else clash."""
    return hashlib.sha256(canonical_json(op.to_wire()).encode("ascii")).hexdigest()


def is_known_kind(kind: str) -> bool:
    return kind in OpKind._value2member_map_


# --- value checks: each returns a message, or None when the value is fine ------------------------------------

def _aware_datetime(value: Any) -> str | None:
    if not isinstance(value, str):
        return "must be an ISO 8601 date-time string with offset"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return "not an ISO 8601 date-time"
    if parsed.tzinfo is None:
        return "needs a UTC offset (e.g. +01:00 or Z)"
    # Bounded years: 0001-01-01T00:00:00+01:00 parses but has no UTC value, and a year 9999 is a slip.
    problem = instant_problem(parsed)
    return f"{problem} (in UTC)" if problem else None


def _uuid(value: Any) -> str | None:
    try:
        ok = isinstance(value, str) and str(uuid.UUID(value)) == value
    except ValueError:
        ok = False
    return None if ok else "must be a lowercase UUID string (8-4-4-4-12 hex)"


def _one_of(enum: type) -> Callable[[Any], str | None]:
    values = [m.value for m in enum]
    return lambda v: None if v in values else "must be one of: " + ", ".join(values)


def _text(limit: int) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if not isinstance(value, str):
            return "must be a string"
        return None if len(value) <= limit else f"at most {limit} characters"
    return check


def _bool(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


def _positive_int(value: Any) -> str | None:
    return None if _is_int(value) and value > 0 else "must be a positive integer"


def _sha256(value: Any) -> str | None:
    ok = isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)
    return None if ok else "must be 64 lowercase hex characters"


def _photo_size(value: Any) -> str | None:
    ok = _is_int(value) and 0 < value <= MAX_PHOTO_BYTES
    return None if ok else f"must be an integer from 1 to {MAX_PHOTO_BYTES}"


def _content_type(value: Any) -> str | None:
    return None if value in PHOTO_CONTENT_TYPES else "must be one of: " + ", ".join(sorted(PHOTO_CONTENT_TYPES))


# Per kind: field -> (required, check). Cross-field rules are in _CROSS_CHECKS.
_Rules = dict[str, tuple[bool, Callable[[Any], str | None]]]
_RULES: dict[str, _Rules] = {
    OpKind.record_home_visit.value: {
        "visited_at": (True, _aware_datetime),
        "outcome": (True, _one_of(VisitOutcome)),
        "notice_left": (False, _bool),
        "notes": (False, _text(MAX_NOTES)),
        "new_address": (False, lambda v: None),  # checked in _check_new_address
        "person_spoken_to": (False, _text(MAX_PERSON)),
    },
    OpKind.record_address_check.value: {
        "checked_at": (True, _aware_datetime),
        "source": (True, _one_of(AddressCheckSource)),
        "result": (True, _one_of(AddressCheckResult)),
        "notes": (False, _text(MAX_NOTES)),
        "new_address": (False, lambda v: None),
    },
    OpKind.attach_photo.value: {
        "visit_op_id": (True, _uuid),
        "sha256": (True, _sha256),
        "size": (True, _photo_size),
        "content_type": (True, _content_type),
        "caption": (False, _text(MAX_CAPTION)),
    },
    OpKind.propose_case_change.value: {
        "changes": (True, lambda v: None),  # checked in _check_changes
    },
    OpKind.acknowledge_assignment.value: {
        "assignment_id": (True, _positive_int),
    },
}


def _check_fields(payload: dict[str, Any], rules: _Rules) -> list[Problem]:
    problems = [Problem(f"payload.{key}", "unknown field") for key in sorted(payload) if key not in rules]
    for name, (required, check) in rules.items():
        value = payload.get(name)
        if value is None:
            if required:
                problems.append(Problem(f"payload.{name}", "required"))
            continue
        message = check(value)
        if message:
            problems.append(Problem(f"payload.{name}", message))
    return problems


def _check_new_address(payload: dict[str, Any], needs_it: bool, why: str) -> list[Problem]:
    address = payload.get("new_address")
    if address is None:
        return [Problem("payload.new_address", f"required when {why}")] if needs_it else []
    return validate_address(address, "payload.new_address", require_town=True)


def _check_changes(op: Op) -> list[Problem]:
    problems = []
    if not _is_int(op.base_version) or op.base_version < 1:
        problems.append(Problem("base_version", "required for a case change: an integer >= 1"))
    changes = op.payload.get("changes")
    if changes is None:
        return problems  # "required" already reported by _check_fields
    if not isinstance(changes, dict) or not changes:
        return problems + [Problem("payload.changes", "must be a non-empty object of field path -> value")]
    for path, value in changes.items():
        if not is_editable(path):
            problems.append(Problem(f"payload.changes.{path}", "not a field a device may change"))
            continue
        problem = validate_value(path, value)
        if problem:
            problems.append(Problem(f"payload.changes.{problem.field}", problem.message))
    return problems


def _cross_checks(op: Op) -> list[Problem]:
    if op.kind == OpKind.propose_case_change:
        return _check_changes(op)
    return _fact_checks(op.kind, op.payload)


def _fact_checks(kind: str, payload: dict[str, Any]) -> list[Problem]:
    if kind == OpKind.record_home_visit:
        needs = payload.get("outcome") == VisitOutcome.new_address_obtained
        return _check_new_address(payload, needs, "outcome is new_address_obtained")
    if kind == OpKind.record_address_check:
        needs = payload.get("result") == AddressCheckResult.new_address_found
        return _check_new_address(payload, needs, "result is new_address_found")
    return []


def _check_envelope(op: Op) -> list[Problem]:
    problems = []
    message = _uuid(op.op_id)
    if message:
        problems.append(Problem("op_id", message))
    message = _aware_datetime(op.device_time)
    if message:
        problems.append(Problem("device_time", message))
    if op.case_id is None or not _is_int(op.case_id) or not 1 <= op.case_id <= MAX_ID:
        problems.append(Problem("case_id", f"required: a positive integer up to {MAX_ID}"))
    if op.base_version is not None and not 1 <= op.base_version <= MAX_ID:
        problems.append(Problem("base_version", f"must be between 1 and {MAX_ID}"))
    problems += [Problem(f"payload.{path}", message) for path, message in _text_problems(op.payload)]
    return problems


# Payload fields written as prose, where line breaks and tabs belong; every other string is a single line.
MULTILINE_FIELDS = frozenset({"notes"})


def _text_problems(value: Any, path: str = "", multiline: bool = False) -> list[tuple[str, str]]:
    """(path, reason) for every payload string (or key) that is not plain text by `sync.text.text_problem`: NUL
    and lone surrogates no database can hold, control and format characters that would act on a terminal."""
    if isinstance(value, str):
        message = text_problem(value, multiline=multiline)
        return [(path or "(value)", message)] if message else []
    found: list[tuple[str, str]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            key_problem = text_problem(str(key))
            if key_problem:
                found.append((_shown(here), f"key {key_problem}"))
                continue
            found += _text_problems(item, here, str(key) in MULTILINE_FIELDS)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += _text_problems(item, f"{path}[{i}]", multiline)
    return found


def _shown(path: str) -> str:
    """The path with refused characters replaced by U+FFFD, so the message itself can be stored and shown."""
    return "".join(ch if text_problem(ch) is None else "\ufffd" for ch in path)


# The facts an officer records both over HTTP and by push: one judge for both (server/api/enquiries.py).
FACT_KINDS = frozenset({OpKind.record_home_visit.value, OpKind.record_address_check.value})


def judge_fact(kind: str, payload: dict[str, Any]) -> list[Problem]:
    """The payload rules of a home visit or an address check (fields, text, instants, lengths, the new address
    an outcome needs), whichever way it arrives: `validate_payload` for a pushed op, the HTTP enquiry schema
    for one recorded online. Paths are "payload.<field>"."""
    if kind not in FACT_KINDS:
        raise ValueError(f"{kind!r} is not a visit or an address check")
    problems = [Problem(f"payload.{path}", message) for path, message in _text_problems(payload)]
    problems += _check_fields(payload, _RULES[kind])
    return problems + _fact_checks(kind, payload)


def validate_payload(op: Op) -> list[Problem]:
    """Every problem with this op (envelope semantics and payload); empty list = valid.

    An unknown kind yields a single Problem("kind", ...): its payload cannot be judged by this version.
    """
    if not is_known_kind(op.kind):
        return [Problem("kind", f"unknown op kind {op.kind!r}")]
    problems = _check_envelope(op)
    problems += _check_fields(op.payload, _RULES[op.kind])
    problems += _cross_checks(op)
    return problems

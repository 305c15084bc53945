"""Field edits and their conflicts (DESIGN principle 4).

Facts (visits, checks, photos) are append-only and never conflict. Only a `propose_case_change` op edits case
fields, and it carries the case version the officer saw (`base_version`). The server records, per version,
which field paths changed, and asks `classify_edit` what to do:

- nothing relevant changed since the base        -> applied
- other fields changed, none of the proposed ones -> conflict_soft (apply everything, flag)
- a proposed field changed to a different value   -> conflict_hard (apply the rest, keep both values, flag)

Values compare with `same_value` (plain `==`, but an address part left out equals one that is null), so a field
already holding the proposed value is no conflict.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sync.errors import Problem
from sync.vocabulary import OpStatus

# Path patterns a device may propose changing; "<int>" is a carer id.
EDITABLE_FIELDS: tuple[str, ...] = (
    "current_address",
    "contact_phone",
    "contact_email",
    "carers.<int>.phone",
    "carers.<int>.email",
)

MAX_ADDRESS_PART = 200
ADDRESS_KEYS = frozenset({"line1", "line2", "town", "postcode"})

# Canonical ids only (no leading zeros), so one carer field has exactly one path and conflicts are detected.
_CARER_PATH = re.compile(r"carers\.([1-9][0-9]{0,17})\.(phone|email)")
_PHONE = re.compile(r"[0-9 +()\-]{7,20}")
# UK postcode, outward + inward code, space optional, either case (incl. GIR 0AA).
_POSTCODE = re.compile(
    r"(GIR ?0AA|[A-PR-UWYZ]([0-9]{1,2}|[A-HK-Y][0-9]{1,2}|[0-9][A-HJKPS-UW]|[A-HK-Y][0-9][ABEHMNPRV-Y])"
    r" ?[0-9][ABD-HJLNP-UW-Z]{2})",
    re.IGNORECASE,
)


def _value_kind(path: str) -> str | None:
    """"address", "phone", "email", or None when the path is not editable."""
    if path == "current_address":
        return "address"
    if path in ("contact_phone", "contact_email"):
        return path.removeprefix("contact_")
    match = _CARER_PATH.fullmatch(path) if isinstance(path, str) else None
    return match.group(2) if match else None


def is_editable(path: str) -> bool:
    """True when a device may propose a new value for this field path."""
    return _value_kind(path) is not None


def parse_carer_path(path: str) -> tuple[int, str] | None:
    """("carers.12.phone") -> (12, "phone"); None for any other path."""
    match = _CARER_PATH.fullmatch(path) if isinstance(path, str) else None
    return (int(match.group(1)), match.group(2)) if match else None


def is_valid_postcode(value: str) -> bool:
    return isinstance(value, str) and _POSTCODE.fullmatch(value.strip()) is not None


def validate_address(value: Any, field: str, *, require_town: bool = False) -> list[Problem]:
    """Check an address dict {line1, line2?, town?, postcode}; line1 and postcode are always required."""
    if not isinstance(value, dict):
        return [Problem(field, "must be an object with line1, line2, town, postcode")]
    problems = [Problem(f"{field}.{key}", "unknown field") for key in sorted(set(value) - ADDRESS_KEYS, key=str)]
    required = ("line1", "postcode", "town") if require_town else ("line1", "postcode")
    for key in ("line1", "line2", "town", "postcode"):
        part = value.get(key)
        if part is None or (isinstance(part, str) and not part.strip()):
            if key in required:
                problems.append(Problem(f"{field}.{key}", "required"))
        elif not isinstance(part, str):
            problems.append(Problem(f"{field}.{key}", "must be a string"))
        elif len(part) > MAX_ADDRESS_PART:
            problems.append(Problem(f"{field}.{key}", f"at most {MAX_ADDRESS_PART} characters"))
        elif key == "postcode" and not is_valid_postcode(part):
            problems.append(Problem(f"{field}.{key}", "not a valid UK postcode"))
    return problems


def _phone_problem(value: Any) -> str | None:
    if not isinstance(value, str) or not _PHONE.fullmatch(value):
        return "7-20 characters of digits, spaces, +, (, ), -"
    if sum(ch.isdigit() for ch in value) < 7:
        return "needs at least 7 digits"
    return None


def _email_problem(value: Any) -> str | None:
    if not isinstance(value, str) or len(value) > 254 or any(ch.isspace() for ch in value):
        return "must be an email address"
    local, at, domain = value.rpartition("@")
    return None if at and local and domain else "must be an email address"


def validate_value(path: str, value: Any) -> Problem | None:
    """First problem with a proposed value for `path`, or None. Phone and email may be None (clear them)."""
    kind = _value_kind(path)
    if kind is None:
        return Problem(path, "not a field a device may change")
    if kind == "address":
        problems = validate_address(value, path)
        return problems[0] if problems else None
    if value is None:
        return None
    message = _phone_problem(value) if kind == "phone" else _email_problem(value)
    return Problem(path, message) if message else None


def same_value(path: str, a: Any, b: Any) -> bool:
    """Do two values of a field mean the same? Plain `==`, except that an address part left out is the same as
    one that is null or blank (a device sends {"line1", "postcode"}; the server reads back line2/town as None)."""
    if path == "current_address" and isinstance(a, dict) and isinstance(b, dict):
        def parts(address: dict[str, Any]) -> dict[str, Any]:
            extra = {k: v for k, v in address.items() if k not in ADDRESS_KEYS}
            return {**extra, **{k: address.get(k) or None for k in sorted(ADDRESS_KEYS)}}
        return parts(a) == parts(b)
    return a == b


@dataclass(frozen=True)
class EditDecision:
    """What to do with a proposed field edit.

    `apply` holds the fields to write now; `hard_fields` maps each conflicting path to (server_value, device_value);
    every proposed path is in exactly one of the two. `other_changed` lists non-proposed paths changed since base.
    """

    status: OpStatus
    apply: dict[str, Any] = field(default_factory=dict)
    hard_fields: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    other_changed: tuple[str, ...] = ()


def classify_edit(
    proposed: dict[str, Any],
    base_version: int,
    current_version: int,
    changed_since_base: dict[str, Any],
) -> EditDecision:
    """Classify an edit made against `base_version` now that the case is at `current_version`.

    `changed_since_base` maps every path changed by any version after the base to its current server value.
    A base newer than the server's version is impossible in a healthy system; it raises ValueError and the
    caller should quarantine the op as invalid rather than guess.
    """
    if base_version > current_version:
        raise ValueError(f"base_version {base_version} is newer than current version {current_version}")
    if base_version == current_version:
        return EditDecision(OpStatus.applied, apply=dict(proposed))
    apply: dict[str, Any] = {}
    hard: dict[str, tuple[Any, Any]] = {}
    for path, device_value in proposed.items():
        if path in changed_since_base and not same_value(path, changed_since_base[path], device_value):
            hard[path] = (changed_since_base[path], device_value)
        else:
            apply[path] = device_value
    other = tuple(sorted(p for p in changed_since_base if p not in proposed))
    if hard:
        status = OpStatus.conflict_hard
    elif other:
        status = OpStatus.conflict_soft
    else:
        status = OpStatus.applied
    return EditDecision(status, apply=apply, hard_fields=hard, other_changed=other)

"""The case aggregate: how a case is edited, moves through its lifecycle and is versioned.

Plain Python over any object shaped like a case (`CaseRecord`): the register's ORM class satisfies it, and so does
a dataclass in the unit tests, so these rules are tested without a database. Every write goes through here; the
service layer then records the new version in the change log.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any, Protocol

from .errors import InvalidInput
from .lifecycle import CaseFacts, CaseStatus, TransitionRequest, check_transition
from .triggers import Trigger
from .upn import normalise_upn

SCALAR_FIELDS = (
    "first_name", "last_name", "preferred_name", "dob", "gender", "ethnicity", "eal", "upn", "fsm",
    "sen_status", "ehe_history", "cp", "cin", "cic", "social_worker", "other_safeguarding",
    "risk_factors", "vulnerable_groups", "contact_phone", "contact_email", "last_school_name",
    "last_school_urn", "on_roll_date", "off_roll_date", "first_day_of_absence", "referral_accepted_on",
    "place_offered_on", "place_accepted_on", "exclusion_start",
)
ADDRESS_KEYS = {"line1": "address_line1", "line2": "address_line2", "town": "address_town",
                "postcode": "address_postcode"}
CARER_CONTACT_FIELDS = ("phone", "email")


class CarerRecord(Protocol):
    id: int | None
    name: str
    relationship_to_child: str | None
    parental_responsibility: bool
    phone: str | None
    email: str | None


class CaseRecord(Protocol):
    """What the aggregate reads and writes; the child rows are made by the record itself (`new_carer`, ...)."""

    id: int
    version: int
    status: str
    dob: date
    cp: bool
    cin: bool
    updated_at: datetime
    closed_at: datetime | None
    close_reason: str | None
    close_evidence: dict | None
    transfer_destination: str | None
    carers: Sequence[CarerRecord]

    def new_carer(self, name: str) -> CarerRecord: ...

    def replace_carers(self, carers: list[CarerRecord]) -> None: ...

    def replace_siblings(self, siblings: list[dict]) -> None: ...

    def record_past_address(self, address: dict, to_date: date, source: str) -> None: ...


@dataclass(frozen=True)
class Transitioned:
    """What a lifecycle move did: the fields it changed, the alerts and tasks it raises, and the change's kind."""

    fields: list[str]
    triggers: list[Trigger]
    kind: str
    ends_assignments: bool


def is_closed(case: CaseRecord) -> bool:
    return case.status == CaseStatus.CLOSED.value


def is_flagged(case: CaseRecord) -> bool:
    """Child protection or child in need: the §11.4 alert concerns."""
    return bool(case.cp or case.cin)


def bump_version(case: CaseRecord, now: datetime) -> int:
    """Every write makes a new version (a new case starts at 0, so its first change is version 1)."""
    case.version += 1
    case.updated_at = now
    return case.version


def current_address(case: CaseRecord) -> dict | None:
    if not getattr(case, "address_line1", None):
        return None
    return {k: getattr(case, attr) for k, attr in ADDRESS_KEYS.items()}


def field_value(case: CaseRecord, path: str) -> Any:
    """The current value of a field path, as the sync conflict rules compare it."""
    if path == "current_address":
        return current_address(case)
    if path.startswith("carers."):
        parts = path.split(".")
        carer = _carer(case, parts[1])
        return getattr(carer, parts[2], None) if carer and len(parts) == 3 else None
    return getattr(case, path, None)


def edit(case: CaseRecord, changes: dict[str, Any], today: date) -> list[str]:
    """Write the changes onto the case; return the changed field paths, e.g. "current_address", "carers.3.phone"."""
    changed: list[str] = []
    if "upn" in changes:
        changes = {**changes, "upn": normalise_upn(changes["upn"])}
    for name in SCALAR_FIELDS:
        if name in changes and getattr(case, name) != changes[name]:
            setattr(case, name, changes[name])
            changed.append(name)
    if "current_address" in changes:
        changed += _set_address(case, changes["current_address"], today)
    if "carers" in changes:
        changed += _set_carers(case, changes["carers"])
    if "siblings" in changes:
        case.replace_siblings(list(changes["siblings"]))
        changed.append("siblings")
    for path, value in changes.items():
        if path.startswith("carers."):
            changed += _set_carer_field(case, path, value)
    return changed


def _set_address(case: CaseRecord, address: dict | None, today: date) -> list[str]:
    old = current_address(case)
    new = None if address is None else {k: address.get(k) for k in ADDRESS_KEYS}
    if old == new:
        return []
    if old is not None:  # keep the history of where the child has been (§9.3 "current and/or last known")
        case.record_past_address(old, today, "superseded")
    for key, attr in ADDRESS_KEYS.items():
        setattr(case, attr, None if new is None else new[key])
    return ["current_address"]


def _set_carers(case: CaseRecord, carers: Iterable[dict]) -> list[str]:
    by_id = {c.id: c for c in case.carers}
    kept: list[CarerRecord] = []
    for item in carers:
        carer = by_id.get(item.get("id")) if item.get("id") is not None else None
        if item.get("id") is not None and carer is None:
            raise InvalidInput(f"carer {item['id']} is not on this case", field="carers.id")
        carer = carer or case.new_carer(item["name"])
        carer.name = item["name"]
        carer.relationship_to_child = item.get("relationship")
        carer.parental_responsibility = bool(item.get("parental_responsibility", False))
        carer.phone = item.get("phone")
        carer.email = item.get("email")
        kept.append(carer)
    case.replace_carers(kept)
    return ["carers"]


def _carer(case: CaseRecord, carer_id: str) -> CarerRecord | None:
    return next((c for c in case.carers if str(c.id) == carer_id), None)


def _set_carer_field(case: CaseRecord, path: str, value: Any) -> list[str]:
    parts = path.split(".")
    carer = _carer(case, parts[1]) if len(parts) == 3 else None
    if carer is None or parts[2] not in CARER_CONTACT_FIELDS:
        raise InvalidInput(f"{path} does not name a carer's phone or email on this case", field=path)
    if getattr(carer, parts[2]) == value:
        return []
    setattr(carer, parts[2], value)
    return [path]


def transition(case: CaseRecord, request: TransitionRequest, today: date, now: datetime) -> Transitioned:
    """Move the case as the lifecycle allows (or raise the rule that refuses), recording closure evidence."""
    facts = CaseFacts(status=CaseStatus(case.status), dob=case.dob, cp=case.cp, cin=case.cin)
    triggers = check_transition(facts, request, today)
    previous = case.status
    case.status = request.target.value
    fields = ["status"]
    closing = request.target == CaseStatus.CLOSED
    if closing:
        case.closed_at = now
        case.close_reason = request.closure.reason.value
        case.close_evidence = {k: (v.isoformat() if hasattr(v, "isoformat") else v)
                               for k, v in asdict(request.closure).items() if v is not None}
        fields += ["closed_at", "close_reason"]
    elif previous == CaseStatus.CLOSED.value:
        case.closed_at = case.close_reason = case.close_evidence = None
    if request.target == CaseStatus.TRANSFERRED_OUT:
        case.transfer_destination = request.destination
        fields.append("transfer_destination")
    return Transitioned(fields, triggers, f"status:{previous}->{case.status}", ends_assignments=closing)

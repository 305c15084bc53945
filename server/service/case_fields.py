"""Apply a dict of changes to a case and name the field paths that changed (for the change log)."""
from __future__ import annotations

from datetime import date
from typing import Any

from ..adapters.models import AddressHistory, Carer, Case, Sibling
from ..domain.errors import InvalidInput
from ..domain.upn import normalise_upn

SCALAR_FIELDS = (
    "first_name", "last_name", "preferred_name", "dob", "gender", "ethnicity", "eal", "upn", "fsm",
    "sen_status", "ehe_history", "cp", "cin", "cic", "social_worker", "other_safeguarding",
    "risk_factors", "vulnerable_groups", "contact_phone", "contact_email", "last_school_name",
    "last_school_urn", "on_roll_date", "off_roll_date", "first_day_of_absence", "referral_accepted_on",
    "place_offered_on", "place_accepted_on", "exclusion_start",
)
ADDRESS_KEYS = {"line1": "address_line1", "line2": "address_line2", "town": "address_town",
                "postcode": "address_postcode"}
CARER_KEYS = ("name", "relationship", "parental_responsibility", "phone", "email")


def current_address(case: Case) -> dict | None:
    if not case.address_line1:
        return None
    return {k: getattr(case, attr) for k, attr in ADDRESS_KEYS.items()}


def apply_changes(case: Case, changes: dict[str, Any], today: date) -> list[str]:
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
        case.siblings = [Sibling(name=s["name"], dob=s.get("dob"), school=s.get("school"))
                         for s in changes["siblings"]]
        changed.append("siblings")
    for path, value in changes.items():
        if path.startswith("carers."):
            changed += _set_carer_field(case, path, value)
    return changed


def _set_address(case: Case, address: dict | None, today: date) -> list[str]:
    old = current_address(case)
    new = None if address is None else {k: address.get(k) for k in ADDRESS_KEYS}
    if old == new:
        return []
    if old is not None:  # keep the history of where the child has been (§9.3 "current and/or last known")
        case.addresses.append(AddressHistory(line1=old["line1"], line2=old["line2"], town=old["town"],
                                             postcode=old["postcode"], to_date=today, source="superseded"))
    for key, attr in ADDRESS_KEYS.items():
        setattr(case, attr, None if new is None else new[key])
    return ["current_address"]


def _set_carers(case: Case, carers: list[dict]) -> list[str]:
    by_id = {c.id: c for c in case.carers}
    kept: list[Carer] = []
    for item in carers:
        carer = by_id.get(item.get("id")) if item.get("id") is not None else None
        if item.get("id") is not None and carer is None:
            raise InvalidInput(f"carer {item['id']} is not on this case", field="carers.id")
        carer = carer or Carer(name=item["name"])
        carer.name = item["name"]
        carer.relationship_to_child = item.get("relationship")
        carer.parental_responsibility = bool(item.get("parental_responsibility", False))
        carer.phone = item.get("phone")
        carer.email = item.get("email")
        kept.append(carer)
    case.carers = kept
    return ["carers"]


def _set_carer_field(case: Case, path: str, value: Any) -> list[str]:
    parts = path.split(".")
    carer = next((c for c in case.carers if str(c.id) == parts[1]), None) if len(parts) == 3 else None
    if carer is None or parts[2] not in ("phone", "email"):
        raise InvalidInput(f"{path} does not name a carer's phone or email on this case", field=path)
    if getattr(carer, parts[2]) == value:
        return []
    setattr(carer, parts[2], value)
    return [path]


def field_value(case: Case, path: str) -> Any:
    """The current value of a field path, as the sync conflict rules compare it."""
    if path == "current_address":
        return current_address(case)
    if path.startswith("carers."):
        parts = path.split(".")
        carer = next((c for c in case.carers if str(c.id) == parts[1]), None)
        return getattr(carer, parts[2], None) if carer else None
    return getattr(case, path, None)

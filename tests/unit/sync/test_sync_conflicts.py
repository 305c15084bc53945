from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.conflicts import (
    EDITABLE_FIELDS,
    EditDecision,
    classify_edit,
    is_editable,
    is_valid_postcode,
    parse_carer_path,
    validate_value,
)
from sync.vocabulary import OpStatus


def test_editable_paths() -> None:
    assert "current_address" in EDITABLE_FIELDS
    for path in ("current_address", "contact_phone", "contact_email", "carers.7.phone", "carers.123.email"):
        assert is_editable(path), path
    for path in ("status", "carers.7.name", "carers.x.phone", "carers.07.phone", "carers.7", "child.dob", ""):
        assert not is_editable(path), path
    assert parse_carer_path("carers.12.email") == (12, "email")
    assert parse_carer_path("contact_email") is None


@pytest.mark.parametrize("postcode", ["ME4 4TR", "me44tr", "SW1A 1AA", "EC1A 1BB", "W1A 0AX", "M1 1AE", "B33 8TH",
                                      "CR2 6XH", "DN55 1PT", "GIR 0AA"])
def test_valid_postcodes(postcode: str) -> None:
    assert is_valid_postcode(postcode)


@pytest.mark.parametrize("postcode", ["", "ME4", "12345", "ME4 4T", "QE4 4TR", "ME4 4CR", "ME4  4TR X"])
def test_invalid_postcodes(postcode: str) -> None:
    assert not is_valid_postcode(postcode)


@pytest.mark.parametrize(("path", "value"), [
    ("contact_phone", "07700 900123"),
    ("contact_phone", "+44 (0)1634 123-456"),
    ("contact_phone", None),
    ("contact_email", "a.b@example.org"),
    ("carers.3.email", None),
    ("carers.3.phone", "01634123456"),
    ("current_address", {"line1": "1 Rd", "postcode": "ME4 4TR"}),
    ("current_address", {"line1": "1 Rd", "line2": "Flat 2", "town": "Chatham", "postcode": "ME4 4TR"}),
])
def test_valid_values(path: str, value: Any) -> None:
    assert validate_value(path, value) is None


@pytest.mark.parametrize(("path", "value", "field"), [
    ("contact_phone", "123", "contact_phone"),
    ("contact_phone", "0" * 21, "contact_phone"),
    ("contact_phone", "01634 ext 5", "contact_phone"),
    ("contact_phone", "(((   )))", "contact_phone"),
    ("contact_phone", 7700900123, "contact_phone"),
    ("contact_email", "not-an-email", "contact_email"),
    ("carers.3.email", "@example.org", "carers.3.email"),
    ("current_address", "12 High St", "current_address"),
    ("current_address", None, "current_address"),
    ("current_address", {"postcode": "ME4 4TR"}, "current_address.line1"),
    ("current_address", {"line1": "1 Rd"}, "current_address.postcode"),
    ("current_address", {"line1": "x" * 201, "postcode": "ME4 4TR"}, "current_address.line1"),
    ("current_address", {"line1": "1", "postcode": "ME4 4TR", "county": "Kent"}, "current_address.county"),
    ("status", "closed", "status"),
])
def test_invalid_values_name_the_field(path: str, value: Any, field: str) -> None:
    problem = validate_value(path, value)
    assert problem is not None and problem.field == field


# --- classify_edit ---------------------------------------------------------------------------------------------

def test_same_version_applies_everything() -> None:
    d = classify_edit({"contact_phone": "01634 123456"}, 4, 4, {})
    assert d == EditDecision(OpStatus.applied, apply={"contact_phone": "01634 123456"})


def test_unrelated_version_bump_applies() -> None:
    # e.g. an enquiry was appended: the version moved but no field changed
    d = classify_edit({"contact_phone": "01634 123456"}, 4, 6, {})
    assert d.status is OpStatus.applied and d.apply == {"contact_phone": "01634 123456"}


def test_other_field_changed_is_soft() -> None:
    d = classify_edit({"contact_phone": "01634 123456"}, 4, 5, {"contact_email": "x@y.z"})
    assert d.status is OpStatus.conflict_soft
    assert d.apply == {"contact_phone": "01634 123456"}
    assert d.other_changed == ("contact_email",) and d.hard_fields == {}


def test_same_field_changed_is_hard_and_keeps_both() -> None:
    proposed = {"contact_phone": "01634 123456", "contact_email": "new@example.org"}
    d = classify_edit(proposed, 4, 5, {"contact_phone": "01634 999999", "current_address": {"line1": "1"}})
    assert d.status is OpStatus.conflict_hard
    assert d.hard_fields == {"contact_phone": ("01634 999999", "01634 123456")}
    assert d.apply == {"contact_email": "new@example.org"}
    assert d.other_changed == ("current_address",)


def test_same_value_reached_meanwhile_is_not_a_conflict() -> None:
    address = {"line1": "1 Rd", "line2": None, "town": None, "postcode": "ME4 4TR"}
    d = classify_edit({"current_address": address}, 2, 3, {"current_address": dict(address)})
    assert d.status is OpStatus.applied and d.apply == {"current_address": address}


def test_base_newer_than_current_raises() -> None:
    with pytest.raises(ValueError):
        classify_edit({"contact_phone": "01634 123456"}, 5, 4, {})


paths = st.sampled_from(["current_address", "contact_phone", "contact_email", "carers.1.phone", "carers.2.email",
                         "status", "child.last_name"])
values = st.one_of(st.none(), st.integers(0, 3), st.sampled_from(["a", "b"]))


@given(
    proposed=st.dictionaries(paths, values, min_size=1),
    changed=st.dictionaries(paths, values),
    base=st.integers(1, 50),
    delta=st.integers(0, 5),
)
def test_classify_edit_properties(proposed: dict, changed: dict, base: int, delta: int) -> None:
    current = base + delta
    d = classify_edit(proposed, base, current, changed if delta else {})
    # nothing proposed is ever dropped, and nothing is both applied and held
    assert set(d.apply) | set(d.hard_fields) == set(proposed)
    assert not set(d.apply) & set(d.hard_fields)
    for path, (server_value, device_value) in d.hard_fields.items():
        assert device_value == proposed[path] and server_value == changed[path] != device_value
    for path, value in d.apply.items():
        assert value == proposed[path]
    if delta == 0:
        assert d.status is OpStatus.applied and d.apply == proposed
    assert (d.status is OpStatus.conflict_hard) == bool(d.hard_fields)
    if d.status is OpStatus.conflict_soft:
        assert d.apply == proposed and d.other_changed
    assert not set(d.other_changed) & set(proposed)

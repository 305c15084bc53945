import copy
import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.errors import OpInvalid
from sync.ops import MAX_PHOTO_BYTES, Op, Problem, fingerprint, is_known_kind, validate_payload

OP_ID = "6f1c2f0e-9a54-4c1e-8f51-2b7f3c9d0a11"
VISIT_OP_ID = "0b7d2c3e-1f4a-4b5c-9d6e-7f8a9b0c1d2e"
T = "2025-03-04T10:15:00+00:00"
ADDRESS = {"line1": "12 High Street", "line2": None, "town": "Chatham", "postcode": "ME4 4TR"}


def wire(kind: str, payload: dict[str, Any], **extra: Any) -> dict[str, Any]:
    d = {"op_id": OP_ID, "kind": kind, "case_id": 42, "device_time": T, "payload": payload}
    d.update(extra)
    return d


def problems(d: dict[str, Any]) -> dict[str, str]:
    return {p.field: p.message for p in validate_payload(Op.from_wire(d))}


VALID = {
    "record_home_visit": wire("record_home_visit", {
        "visited_at": T, "outcome": "new_address_obtained", "notice_left": True, "notes": "Spoke to neighbour",
        "new_address": ADDRESS, "person_spoken_to": "Mrs A",
    }),
    "record_address_check": wire("record_address_check", {
        "checked_at": "2025-03-04T11:00:00Z", "source": "council_tax", "result": "confirmed_at_address",
    }),
    "attach_photo": wire("attach_photo", {
        "visit_op_id": VISIT_OP_ID, "sha256": "a" * 64, "size": 1024, "content_type": "image/jpeg", "caption": "Notice",
    }),
    "propose_case_change": wire(
        "propose_case_change",
        {"changes": {"contact_phone": "07700 900123", "carers.7.email": "mum@example.org"}},
        base_version=3,
    ),
    "acknowledge_assignment": wire("acknowledge_assignment", {"assignment_id": 9}),
}


# --- envelope -------------------------------------------------------------------------------------------------

def test_wire_round_trip() -> None:
    d = VALID["propose_case_change"]
    op = Op.from_wire(d)
    assert op.to_wire() == d
    assert Op.from_wire(op.to_wire()) == op


def test_missing_base_version_is_none_on_the_wire() -> None:
    op = Op.from_wire(VALID["acknowledge_assignment"])
    assert op.base_version is None
    assert op.to_wire()["base_version"] is None


@pytest.mark.parametrize(("change", "field"), [
    ({"op_id": None}, "op_id"),
    ({"op_id": ""}, "op_id"),
    ({"op_id": 5}, "op_id"),
    ({"kind": None}, "kind"),
    ({"kind": ""}, "kind"),
    ({"payload": None}, "payload"),
    ({"payload": [1, 2]}, "payload"),
    ({"payload": {"x": float("nan")}}, "payload"),
    ({"device_time": None}, "device_time"),
    ({"case_id": "42"}, "case_id"),
    ({"case_id": True}, "case_id"),
    ({"base_version": 1.5}, "base_version"),
])
def test_unrepresentable_envelope_raises_op_invalid(change: dict[str, Any], field: str) -> None:
    d = {**VALID["acknowledge_assignment"], **change}
    with pytest.raises(OpInvalid) as info:
        Op.from_wire(d)
    assert info.value.field == field


def test_from_wire_rejects_non_object() -> None:
    with pytest.raises(OpInvalid):
        Op.from_wire(["not", "an", "op"])  # type: ignore[arg-type]


def test_op_is_isolated_from_caller_mutation_and_hashable() -> None:
    d = copy.deepcopy(VALID["record_home_visit"])
    op = Op.from_wire(d)
    before = fingerprint(op)
    d["payload"]["notes"] = "changed"
    assert fingerprint(op) == before
    assert hash(op) == hash(Op.from_wire(VALID["record_home_visit"]))


def test_unknown_envelope_keys_are_ignored() -> None:
    op = Op.from_wire({**VALID["acknowledge_assignment"], "future_field": 1})
    assert "future_field" not in op.to_wire()


# --- fingerprint ----------------------------------------------------------------------------------------------

def test_fingerprint_is_sha256_hex_and_key_order_independent() -> None:
    d = VALID["record_home_visit"]
    reordered = {k: d[k] for k in reversed(list(d))}
    reordered["payload"] = {k: d["payload"][k] for k in reversed(list(d["payload"]))}
    fp = fingerprint(Op.from_wire(d))
    assert len(fp) == 64 and int(fp, 16) >= 0
    assert fingerprint(Op.from_wire(reordered)) == fp


def test_explicit_null_base_version_equals_absent() -> None:
    d = VALID["acknowledge_assignment"]
    assert fingerprint(Op.from_wire(d)) == fingerprint(Op.from_wire({**d, "base_version": None}))


@given(notes=st.text(max_size=50), other=st.text(max_size=50))
def test_fingerprint_separates_different_content(notes: str, other: str) -> None:
    base = VALID["record_address_check"]
    a = Op.from_wire({**base, "payload": {**base["payload"], "notes": notes}})
    b = Op.from_wire({**base, "payload": {**base["payload"], "notes": other}})
    assert (fingerprint(a) == fingerprint(b)) == (notes == other)


def test_fingerprint_covers_envelope() -> None:
    d = VALID["acknowledge_assignment"]
    fp = fingerprint(Op.from_wire(d))
    assert fingerprint(Op.from_wire({**d, "case_id": 43})) != fp
    assert fingerprint(Op.from_wire({**d, "device_time": "2025-03-04T10:16:00+00:00"})) != fp


# --- validation -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", sorted(VALID))
def test_valid_examples_have_no_problems(kind: str) -> None:
    assert validate_payload(Op.from_wire(VALID[kind])) == []


def test_unknown_kind_is_one_problem_on_kind() -> None:
    op = Op.from_wire(wire("record_letter", {"anything": 1}))
    assert validate_payload(op) == [Problem("kind", "unknown op kind 'record_letter'")]
    assert not is_known_kind("record_letter")
    assert is_known_kind("record_home_visit")


@pytest.mark.parametrize(("change", "field"), [
    ({"op_id": "not-a-uuid"}, "op_id"),
    ({"op_id": OP_ID.upper()}, "op_id"),
    ({"device_time": "2025-03-04T10:15:00"}, "device_time"),
    ({"device_time": "yesterday"}, "device_time"),
    ({"case_id": None}, "case_id"),
    ({"case_id": 0}, "case_id"),
])
def test_envelope_semantics(change: dict[str, Any], field: str) -> None:
    assert field in problems({**VALID["acknowledge_assignment"], **change})


def _visit(**payload: Any) -> dict[str, str]:
    base = {"visited_at": T, "outcome": "no_answer"}
    return problems(wire("record_home_visit", {**base, **payload}))


def test_home_visit_rules() -> None:
    assert _visit() == {}
    assert _visit(notice_left=None, notes=None) == {}  # optional fields may be null
    assert "payload.visited_at" in _visit(visited_at="2025-03-04")
    assert "payload.visited_at" in _visit(visited_at=None)
    assert "payload.outcome" in _visit(outcome="gone_fishing")
    assert "payload.notice_left" in _visit(notice_left="yes")
    assert "payload.notes" in _visit(notes="x" * 4001)
    assert _visit(notes="x" * 4000) == {}
    assert "payload.person_spoken_to" in _visit(person_spoken_to="x" * 201)
    assert "payload.colour" in _visit(colour="blue")  # unknown payload keys are typos until proven otherwise


def test_home_visit_new_address_rules() -> None:
    assert "payload.new_address" in _visit(outcome="new_address_obtained")
    assert _visit(outcome="new_address_obtained", new_address=ADDRESS) == {}
    no_town = {**ADDRESS, "town": None}
    assert "payload.new_address.town" in _visit(outcome="new_address_obtained", new_address=no_town)
    bad_pc = {**ADDRESS, "postcode": "ME4"}
    assert "payload.new_address.postcode" in _visit(outcome="new_address_obtained", new_address=bad_pc)
    assert "payload.new_address.line1" in _visit(new_address={"town": "Chatham", "postcode": "ME4 4TR"})


def _check(**payload: Any) -> dict[str, str]:
    base = {"checked_at": T, "source": "electoral_register", "result": "no_record"}
    return problems(wire("record_address_check", {**base, **payload}))


def test_address_check_rules() -> None:
    assert _check() == {}
    assert "payload.source" in _check(source="gossip")
    assert "payload.result" in _check(result="maybe")
    assert "payload.checked_at" in _check(checked_at=12)
    assert "payload.new_address" in _check(result="new_address_found")
    assert _check(result="new_address_found", new_address=ADDRESS) == {}


def _photo(**payload: Any) -> dict[str, str]:
    base = {"visit_op_id": VISIT_OP_ID, "sha256": "0" * 64, "size": 10, "content_type": "image/png"}
    return problems(wire("attach_photo", {**base, **payload}))


def test_attach_photo_rules() -> None:
    assert _photo() == {}
    assert "payload.visit_op_id" in _photo(visit_op_id="abc")
    assert "payload.sha256" in _photo(sha256="A" * 64)
    assert "payload.sha256" in _photo(sha256="a" * 63)
    assert "payload.size" in _photo(size=0)
    assert "payload.size" in _photo(size=True)
    assert _photo(size=MAX_PHOTO_BYTES) == {}
    assert MAX_PHOTO_BYTES == 64 * 1024 * 1024
    assert "payload.size" in _photo(size=MAX_PHOTO_BYTES + 1)
    assert "payload.content_type" in _photo(content_type="image/gif")
    for ok in ("image/jpeg", "image/png", "image/heic", "image/webp", "application/pdf"):
        assert _photo(content_type=ok) == {}


def _change(changes: Any, base_version: Any = 3) -> dict[str, str]:
    return problems(wire("propose_case_change", {"changes": changes}, base_version=base_version))


def test_propose_case_change_rules() -> None:
    assert _change({"current_address": {"line1": "1 Rd", "postcode": "sw1a 1aa"}}) == {}
    assert "base_version" in _change({"contact_phone": "01634 123456"}, base_version=None)
    assert "base_version" in _change({"contact_phone": "01634 123456"}, base_version=0)
    assert "payload.changes" in _change({})
    assert "payload.changes" in _change(["contact_phone"])
    assert "payload.changes.status" in _change({"status": "closed"})
    assert "payload.changes.carers.07.phone" in _change({"carers.07.phone": "01634 123456"})
    assert "payload.changes.contact_phone" in _change({"contact_phone": "call me"})
    assert "payload.changes.current_address.postcode" in _change({"current_address": {"line1": "1", "postcode": "X"}})


def test_acknowledge_assignment_rules() -> None:
    ack = VALID["acknowledge_assignment"]
    assert "payload.assignment_id" in problems({**ack, "payload": {"assignment_id": "9"}})
    assert "payload.assignment_id" in problems({**ack, "payload": {}})


def test_uuid_helper_accepts_generated_ids() -> None:
    assert problems({**VALID["acknowledge_assignment"], "op_id": str(uuid.uuid4())}) == {}

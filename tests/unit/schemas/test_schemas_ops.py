from typing import Any

import pytest
from marshmallow import ValidationError

from schemas.ops import OpResultSchema, OpSchema
from sync.ops import Op

OP = {
    "op_id": "6f1c2f0e-9a54-4c1e-8f51-2b7f3c9d0a11",
    "kind": "propose_case_change",
    "case_id": 42,
    "device_time": "2025-03-04T10:15:00+00:00",
    "payload": {"changes": {"contact_phone": "07700 900123"}},
    "base_version": 3,
}
RESULT = {
    "op_id": OP["op_id"],
    "status": "conflict_hard",
    "reason": None,
    "detail": "contact_phone changed on the server since version 3",
    "case_id": 42,
    "case_version": 5,
    "result": {"enquiry_id": None},
    "hard_fields": {"contact_phone": ["01634 999999", "07700 900123"]},
}


def test_op_round_trip_and_agrees_with_sync() -> None:
    schema = OpSchema()
    loaded = schema.load(schema.dump(OP))
    assert loaded == OP
    assert Op.from_wire(loaded).to_wire() == OP


def test_op_defaults_and_unknown_envelope_keys() -> None:
    minimal = {k: v for k, v in OP.items() if k not in ("case_id", "base_version")}
    loaded = OpSchema().load({**minimal, "future": 1})
    assert loaded["case_id"] is None and loaded["base_version"] is None and "future" not in loaded


def test_unknown_kind_passes_the_envelope() -> None:
    # quarantined later, op by op, never by failing the whole push
    assert OpSchema().load({**OP, "kind": "record_letter"})["kind"] == "record_letter"


@pytest.mark.parametrize(("change", "field"), [
    ({"op_id": None}, "op_id"),
    ({"op_id": "  "}, "op_id"),
    ({"kind": ""}, "kind"),
    ({"case_id": "42"}, "case_id"),
    ({"device_time": 5}, "device_time"),
    ({"payload": [1]}, "payload"),
    ({"base_version": 2.5}, "base_version"),
])
def test_op_validation_names_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        OpSchema().load({**OP, **change})
    assert field in info.value.messages


def test_op_missing_required_fields() -> None:
    with pytest.raises(ValidationError) as info:
        OpSchema().load({})
    assert set(info.value.messages) == {"op_id", "kind", "device_time", "payload"}


def test_result_round_trip() -> None:
    schema = OpResultSchema()
    assert schema.load(schema.dump(RESULT)) == RESULT


def test_result_dumps_tuple_pairs_from_edit_decision() -> None:
    dumped = OpResultSchema().dump({**RESULT, "hard_fields": {"contact_phone": ("01634 999999", "07700 900123")}})
    assert dumped["hard_fields"] == {"contact_phone": ["01634 999999", "07700 900123"]}


def test_result_minimal_quarantine() -> None:
    loaded = OpResultSchema().load({"op_id": "x", "status": "quarantined", "reason": "unknown_kind"})
    assert loaded["reason"] == "unknown_kind" and loaded["hard_fields"] is None


@pytest.mark.parametrize(("data", "field"), [
    ({"status": "maybe"}, "status"),
    ({"status": "quarantined", "reason": "bored"}, "reason"),
    ({"status": "quarantined", "reason": None}, "reason"),
    ({"case_version": "5"}, "case_version"),
    ({"hard_fields": {"contact_phone": ["only one"]}}, "hard_fields"),
])
def test_result_validation_names_the_field(data: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        OpResultSchema().load({**RESULT, **data})
    assert field in info.value.messages

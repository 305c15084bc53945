import copy
from datetime import date, datetime, timezone

import pytest
from marshmallow import ValidationError

from schemas.snapshot import CaseSnapshotSchema

SNAPSHOT = {
    "id": 42,
    "version": 7,
    "reference": "CME-2025-0042",
    "status": "open",
    "child": {"first_name": "Sam", "last_name": "Taylor", "preferred_name": None, "dob": date(2014, 5, 1),
              "gender": "male"},
    "current_address": {"line1": "12 High Street", "line2": None, "town": "Chatham", "postcode": "ME4 4TR"},
    "contact_phone": "07700 900123",
    "contact_email": None,
    "carers": [{"id": 7, "name": "Alex Taylor", "relationship": "mother", "parental_responsibility": True,
                "phone": "07700 900456", "email": None}],
    "last_school": {"name": "Chatham Primary", "on_roll": date(2019, 9, 4), "off_roll": None},
    "safeguarding": {"cp": False, "cin": True, "cic": False},
    "assignment": {"id": 9, "due": date(2025, 3, 10), "instructions": "Visit after 4pm", "acknowledged": False},
    "recent_enquiries": [
        {"kind": "home_visit", "at": datetime(2025, 3, 1, 16, 30, tzinfo=timezone.utc), "outcome": "no_answer",
         "summary": "Notice left"},
    ],
}


def test_round_trip() -> None:
    schema = CaseSnapshotSchema()
    dumped = schema.dump(SNAPSHOT)
    assert dumped["child"]["dob"] == "2014-05-01"
    assert schema.load(dumped) == SNAPSHOT


def test_minimal_snapshot_defaults() -> None:
    dumped = CaseSnapshotSchema().dump(SNAPSHOT)
    for key in ("current_address", "contact_phone", "contact_email", "carers", "last_school", "recent_enquiries"):
        del dumped[key]
    loaded = CaseSnapshotSchema().load(dumped)
    assert loaded["carers"] == [] and loaded["recent_enquiries"] == [] and loaded["current_address"] is None


def test_device_drops_fields_it_does_not_know() -> None:
    dumped = CaseSnapshotSchema().dump(SNAPSHOT)
    dumped["ethnicity"] = "not for the device"
    dumped["child"]["upn"] = "A123456789012"
    loaded = CaseSnapshotSchema().load(dumped)
    assert "ethnicity" not in loaded and "upn" not in loaded["child"]


def _error_for(mutate) -> dict:  # type: ignore[no-untyped-def]
    dumped = CaseSnapshotSchema().dump(copy.deepcopy(SNAPSHOT))
    mutate(dumped)
    with pytest.raises(ValidationError) as info:
        CaseSnapshotSchema().load(dumped)
    return info.value.messages  # type: ignore[return-value]


def test_validation_names_the_field() -> None:
    assert "version" in _error_for(lambda d: d.update(version=0))
    assert "dob" in _error_for(lambda d: d["child"].update(dob="01/05/2014"))["child"]
    assert "postcode" in _error_for(lambda d: d["current_address"].pop("postcode"))["current_address"]
    assert "cp" in _error_for(lambda d: d["safeguarding"].pop("cp"))["safeguarding"]
    assert "recent_enquiries" in _error_for(lambda d: d.update(recent_enquiries=d["recent_enquiries"] * 11))
    assert "assignment" in _error_for(lambda d: d.pop("assignment"))

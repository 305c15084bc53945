"""Capture, offline: every op is judged by sync.ops.validate_payload before it is queued; invalid -> nothing queued."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime

import pytest

from field_client import photos, state
from field_client.capture import CaptureError
from sync.ops import Op, validate_payload
from tests.unit.field_client.fake_sync_server import make_case
from tests.unit.field_client.field_fixtures import (  # noqa: F401  (fixtures)
    clock, engine, server, sleeps, store,
)

NEW_ADDRESS = {"line1": "2 New Road", "town": "Chatham", "postcode": "ME4 6AB"}


@pytest.fixture
def held(store):
    store.records.put(state.CASES, "1", 3, make_case(1, version=3))


def only_op(store) -> dict:
    [item] = store.outbox.pending()
    return item.op


def test_visit_is_queued_as_a_valid_op_with_device_time_and_offset(engine, store, held):
    op_id = engine.capture.record_visit(1, "family_spoken_to", notes="Mother says at grandparents'",
                                person_spoken_to="Mother", notice_left=False)
    op = only_op(store)
    assert uuid.UUID(op_id).version == 4 and op["op_id"] == op_id
    assert op["device_time"] == "2025-06-02T09:30:00+01:00"
    assert op["payload"] == {"visited_at": "2025-06-02T09:30:00+01:00", "outcome": "family_spoken_to",
                             "notes": "Mother says at grandparents'", "notice_left": False,
                             "person_spoken_to": "Mother"}
    assert validate_payload(Op.from_wire(op)) == []
    assert store.records.get(state.VISITS, op_id)["case_id"] == 1


@pytest.mark.parametrize("kwargs, field", [
    ({"outcome": "gone_fishing"}, "payload.outcome"),
    ({"outcome": "new_address_obtained"}, "payload.new_address"),
    ({"outcome": "no_answer", "visited_at": "2025-06-02T09:30:00"}, "payload.visited_at"),
    ({"outcome": "no_answer", "notes": "x" * 4001}, "payload.notes"),
    ({"outcome": "new_address_obtained", "new_address": {"line1": "1 A St", "postcode": "NOPE"}},
     "payload.new_address"),
])
def test_invalid_visit_is_refused_and_nothing_is_queued(engine, store, held, kwargs, field):
    with pytest.raises(CaptureError) as caught:
        engine.capture.record_visit(1, **kwargs)
    assert field in str(caught.value) and caught.value.problems
    assert store.outbox.pending() == [] and store.records.list(state.VISITS) == []


def test_visit_with_new_address_and_aware_datetime(engine, store, held):
    engine.capture.record_visit(1, "new_address_obtained", visited_at=datetime.fromisoformat("2025-06-01T17:05:00+01:00"),
                        new_address=NEW_ADDRESS)
    assert only_op(store)["payload"]["new_address"] == NEW_ADDRESS


def test_capture_on_a_case_not_held_is_refused(engine, store):
    with pytest.raises(CaptureError, match="case 42 is not on this device"):
        engine.capture.record_visit(42, "no_answer")
    assert store.outbox.pending() == []


def test_address_check(engine, store, held):
    engine.capture.record_address_check(1, "council_tax", "new_address_found", new_address=NEW_ADDRESS)
    op = only_op(store)
    assert op["kind"] == "record_address_check" and op["payload"]["checked_at"] == "2025-06-02T09:30:00+01:00"
    with pytest.raises(CaptureError, match="payload.source"):
        engine.capture.record_address_check(1, "gossip", "no_record")


def test_propose_change_carries_the_held_version(engine, store, held):
    engine.capture.propose_change(1, {"contact_phone": "01632 960111", "carers.7.email": "bea@example.org"})
    op = only_op(store)
    assert op["base_version"] == 3 and op["kind"] == "propose_case_change"
    with pytest.raises(CaptureError, match="payload.changes.child.first_name"):
        engine.capture.propose_change(1, {"child.first_name": "Eve"})
    assert len(store.outbox.pending()) == 1


def test_acknowledge_assignment_names_the_assignment(engine, store, held):
    engine.capture.acknowledge_assignment(1)
    assert only_op(store)["payload"] == {"assignment_id": 101}


def test_photo_from_a_file_is_stored_encrypted_with_its_digest(engine, store, held, tmp_path):
    visit = engine.capture.record_visit(1, "no_answer")
    path = tmp_path / "door.jpg"
    path.write_bytes(b"\xff\xd8" + b"j" * 4000)
    photo_op = engine.capture.add_photo(visit, path, "image/jpeg", caption="Card through the door")
    attach = store.outbox.pending()[1].op
    assert attach["op_id"] == photo_op and attach["case_id"] == 1
    assert attach["payload"] == {"visit_op_id": visit, "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                                 "size": 4002, "content_type": "image/jpeg", "caption": "Card through the door"}
    assert store.photos.read(photo_op) == path.read_bytes()
    assert photos.entries(store)[photo_op]["done"] is False


@pytest.mark.parametrize("visit, content_type, message", [
    ("not-a-visit", "image/jpeg", "visit not-a-visit is not on this device"),
    (None, "image/gif", "payload.content_type"),
])
def test_invalid_photo_stores_nothing(engine, store, held, visit, content_type, message):
    visit = visit or engine.capture.record_visit(1, "no_answer")
    with pytest.raises(CaptureError, match=message):
        engine.capture.add_photo(visit, b"GIF89a...", content_type)
    assert [item.kind for item in store.outbox.pending()] in ([], ["record_home_visit"])
    assert photos.entries(store) == {}
    assert store.core.db().execute("SELECT COUNT(*) FROM photos").fetchone()[0] == 0


def test_missing_photo_file_is_a_capture_error(engine, store, held, tmp_path):
    visit = engine.capture.record_visit(1, "no_answer")
    with pytest.raises(CaptureError, match="cannot read photo"):
        engine.capture.add_photo(visit, tmp_path / "nope.jpg", "image/jpeg")


# ---- hostile or mistyped input is refused at capture, naming the field (issue: poison ops) ----------------------

@pytest.mark.parametrize("kwargs, field", [
    ({"notes": "moved \ud83d"}, "payload.notes"),
    ({"notes": "clear \x1b[2J"}, "payload.notes"),
    ({"person_spoken_to": "Mother\n"}, "payload.person_spoken_to"),
    ({"person_spoken_to": "evil\u202etxt"}, "payload.person_spoken_to"),
    ({"outcome": "new_address_obtained", "new_address": dict(NEW_ADDRESS, line1="2 New\x07 Road")},
     "payload.new_address.line1"),
])
def test_lone_surrogate_or_control_character_in_a_visit_is_refused_at_capture(engine, store, held, kwargs, field):
    with pytest.raises(CaptureError) as caught:
        engine.capture.record_visit(1, **{"outcome": "no_answer", **kwargs})
    assert any(problem.startswith(field + ": contains") for problem in caught.value.problems), caught.value
    assert store.outbox.pending() == [] and store.records.list(state.VISITS) == []


def test_newline_and_tab_are_kept_in_notes(engine, store, held):
    engine.capture.record_visit(1, "no_answer", notes="Line one\n\tLine two")
    assert only_op(store)["payload"]["notes"] == "Line one\n\tLine two"


def test_control_characters_in_captions_changes_and_address_checks_are_refused(engine, store, held):
    visit = engine.capture.record_visit(1, "no_answer")
    with pytest.raises(CaptureError, match=r"payload.caption: contains a control character \(U\+001B\)"):
        engine.capture.add_photo(visit, b"\xff\xd8jpeg", "image/jpeg", caption="\x1b]0;pwned\x07")
    with pytest.raises(CaptureError, match="payload.changes.contact_phone: contains"):
        engine.capture.propose_change(1, {"contact_phone": "01632\u200b960111"})
    with pytest.raises(CaptureError, match="payload.notes: contains a lone surrogate"):
        engine.capture.record_address_check(1, "council_tax", "no_record", notes="\udcff")
    assert [item.kind for item in store.outbox.pending()] == ["record_home_visit"]


@pytest.mark.parametrize("visited_at, message", [
    ("9999-12-31T23:30:00-01:00", "out of range"),  # its UTC value overflows
    ("0001-01-01T00:00:00+01:00", "out of range"),
    ("1999-06-02T09:30:00+01:00", "between 2000 and 2100"),
    ("2025-06-09T09:30:00+01:00", "is in the future"),  # next week, by the device's clock
])
def test_visit_time_out_of_range_or_in_the_future_is_refused_at_capture(engine, store, held, visited_at, message):
    with pytest.raises(CaptureError, match="payload.visited_at: .*" + message):
        engine.capture.record_visit(1, "no_answer", visited_at=visited_at)
    assert store.outbox.pending() == []


def test_visit_time_within_a_day_of_the_device_clock_is_accepted(engine, store, held):
    engine.capture.record_visit(1, "no_answer", visited_at="2025-06-03T08:00:00+01:00")  # clocks and zones drift
    with pytest.raises(CaptureError, match="payload.checked_at: is in the future"):
        engine.capture.record_address_check(1, "council_tax", "no_record", checked_at="2026-01-01T00:00:00+00:00")
    assert len(store.outbox.pending()) == 1

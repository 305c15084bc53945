"""Poison ops (issue 7 item 1): one op the server cannot handle must never fail the whole push.

Each op is judged alone whatever goes wrong: text no database can hold, instants outside any calendar, and a
fault of the server itself all leave the op kept for review and the ops behind it applied, on every retry.
"""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from server.adapters.sync_models import ReviewItem
from server.service import op_apply
from tests.helpers import assign, create_case
from tests.sync_helpers import enrol, visit_op


def _officer_device(client, accounts) -> tuple[int, dict]:
    sup = accounts["supervisor"]
    case = create_case(client, sup)
    assign(client, sup, case["id"], accounts["officer"].id)
    return case["id"], enrol(client, "officer")


def _push(client, device, ops) -> list[dict]:
    resp = client.post("/api/sync/push", json={"ops": ops}, headers=device["headers"])
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.get_json()["results"]


def _review_items(uow) -> list[ReviewItem]:
    with uow.transaction() as unit:
        session = unit.session
        return list(session.scalars(select(ReviewItem).order_by(ReviewItem.id)))


def test_lone_surrogate_and_out_of_range_instant_ops_are_quarantined_and_the_rest_apply(client, accounts, uow):
    case_id, device = _officer_device(client, accounts)
    surrogate = visit_op(case_id, notes="left a card \ud83d at the door")
    too_early = visit_op(case_id)
    too_early["payload"]["visited_at"] = "0001-01-01T00:00:00+01:00"
    too_late = visit_op(case_id)
    too_late["device_time"] = "9999-12-31T23:30:00-01:00"
    ops = [visit_op(case_id), surrogate, too_early, too_late, visit_op(case_id)]
    results = _push(client, device, ops)
    assert [(r["status"], r.get("reason")) for r in results] == [
        ("applied", None), ("quarantined", "invalid"), ("quarantined", "invalid"), ("quarantined", "invalid"),
        ("applied", None)]
    assert "payload.notes" in results[1]["detail"] and "surrogate" in results[1]["detail"]
    assert "payload.visited_at" in results[2]["detail"] and "device_time" in results[3]["detail"]
    kept = _review_items(uow)
    assert [item.op_id for item in kept] == [op["op_id"] for op in ops[1:4]]
    # The review item keeps the op, made storable (U+FFFD for the lone surrogate), so nothing is lost.
    assert kept[0].op["payload"]["notes"] == "left a card \ufffd at the door"
    # A retry (the device never saw the answer) answers the same verdicts, and nothing is applied twice.
    again = _push(client, device, ops)
    assert [r["status"] for r in again] == ["duplicate"] * 5
    assert [r["result"]["first_status"] for r in again] == [r["status"] for r in results]
    enquiries = client.get(f"/api/cases/{case_id}/enquiries", headers=accounts["supervisor"].headers).get_json()
    assert len(enquiries) == 2 and len(_review_items(uow)) == 3


def test_control_and_format_characters_in_op_text_are_quarantined_with_the_field(client, accounts):
    case_id, device = _officer_device(client, accounts)
    escape = visit_op(case_id, person_spoken_to="Mr \x1b[2J Smith")
    bidi = visit_op(case_id, notes="seen \u202egnirts")
    multiline = visit_op(case_id, notes="knocked twice\n\tno answer\r\n")
    results = _push(client, device, [escape, bidi, multiline])
    assert [(r["status"], r.get("reason")) for r in results] == [
        ("quarantined", "invalid"), ("quarantined", "invalid"), ("applied", None)]
    assert "payload.person_spoken_to" in results[0]["detail"] and "U+001B" in results[0]["detail"]
    assert "payload.notes" in results[1]["detail"] and "U+202E" in results[1]["detail"]


def test_lone_surrogate_in_op_id_or_kind_is_kept_under_a_storable_id(client, accounts, uow):
    case_id, device = _officer_device(client, accounts)
    bad_id = {**visit_op(case_id), "op_id": "abc\udc00def"}
    bad_kind = {**visit_op(case_id), "kind": "record\ud800"}
    ops = [bad_id, bad_kind, visit_op(case_id)]
    results = _push(client, device, ops)
    assert [r["status"] for r in results] == ["quarantined", "quarantined", "applied"]
    assert results[0]["op_id"] == "abc\ufffddef"
    assert [r["status"] for r in _push(client, device, ops)] == ["duplicate"] * 3


def test_unexpected_exception_in_one_ops_handler_quarantines_only_that_op(client, accounts, uow, monkeypatch):
    """A fault of the server (here: a handler that raises) rolls back that op's savepoint only; the op is kept
    as `server_error` for review, the ops behind it apply, and a retry answers the same quarantine."""
    case_id, device = _officer_device(client, accounts)
    poison = visit_op(case_id, notes="the handler breaks on this one")
    real = op_apply.record_enquiry

    def flaky(session, actor, case, data, **kw):
        if data.get("notes") == "the handler breaks on this one":
            real(session, actor, case, data, **kw)  # its effect must be rolled back with the savepoint
            raise RuntimeError("boom")
        return real(session, actor, case, data, **kw)

    monkeypatch.setattr(op_apply, "record_enquiry", flaky)
    ops = [visit_op(case_id), poison, visit_op(case_id)]
    results = _push(client, device, ops)
    assert [(r["status"], r.get("reason")) for r in results] == [
        ("applied", None), ("quarantined", "server_error"), ("applied", None)]
    assert "RuntimeError" in results[1]["detail"]
    again = _push(client, device, ops)
    assert [r["status"] for r in again] == ["duplicate"] * 3
    assert again[1]["reason"] == "server_error" and again[1]["result"]["first_status"] == "quarantined"
    enquiries = client.get(f"/api/cases/{case_id}/enquiries", headers=accounts["supervisor"].headers).get_json()
    assert len(enquiries) == 2  # the poison op's half-done enquiry went with its savepoint
    kept = _review_items(uow)
    assert [(i.op_id, i.reason) for i in kept] == [(poison["op_id"], "server_error")]
    assert kept[0].op["payload"]["notes"] == "the handler breaks on this one"


def test_an_op_that_is_not_an_object_is_answered_not_500(client, accounts):
    case_id, device = _officer_device(client, accounts)
    resp = client.post("/api/sync/push", json={"ops": ["not an op", visit_op(case_id)]}, headers=device["headers"])
    assert resp.status_code in (200, 422), resp.get_data(as_text=True)
    if resp.status_code == 200:
        assert [r["status"] for r in resp.get_json()["results"]] == ["quarantined", "applied"]


def test_instant_bounds_follow_utc_not_the_local_offset():
    from sync.ops import Op, validate_payload

    def problems(visited_at: str) -> list[str]:
        op = Op.from_wire(visit_op(1, visited_at=visited_at))
        return [p.field for p in validate_payload(op)]

    assert problems(datetime.now(UTC).isoformat()) == []
    assert problems("0001-01-01T00:00:00+01:00") == ["payload.visited_at"]
    assert problems("9999-12-31T23:30:00-01:00") == ["payload.visited_at"]
    assert problems("1999-12-31T23:59:59+00:00") == ["payload.visited_at"]

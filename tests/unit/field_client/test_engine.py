"""The sync engine against an in-memory server: pull pages, removals, push verdicts, retries, device control,
resync, consistency check, cursor durability and the offline lock."""

from __future__ import annotations

import pytest

from field_client import state
from field_client.engine import SyncEngine
from field_client.store import Store
from field_client.transport import TransportError
from sync.cursor import decode_cursor
from sync.errors import DeviceLocked, DeviceRevoked
from tests.unit.field_client.fake_sync_server import FakeServer, make_case
from tests.unit.field_client.field_fixtures import (  # noqa: F401  (fixtures)
    clock, engine, server, sleeps, store,
)

VISIT = {"outcome": "no_answer", "notice_left": True}


def held(store: Store) -> dict[int, int]:
    return {int(cid): ver for cid, ver in store.records.ids_and_versions(state.CASES)}


def synced(engine: SyncEngine, server: FakeServer, *case_ids: int) -> None:
    server.assign(*(make_case(cid) for cid in case_ids))
    engine.sync()


# ---- pull ---------------------------------------------------------------------------------------------------
def test_pull_pages_until_more_is_false_and_stores_least_data(engine, server, store):
    server.assign(*(make_case(i) for i in range(1, 6)))
    engine.pull_limit = 2
    report = engine.sync()
    assert held(store) == {i: 1 for i in range(1, 6)}
    assert server.calls.count("GET /api/sync/pull") == 3
    assert report.cases_received == 5 and report.consistent is True
    assert "server_secret_field" not in store.records.get(state.CASES, "1")  # unknown fields are not kept
    assert decode_cursor(store.state.get(state.CURSOR)).change_seq == len(server.changes)


def test_second_sync_pulls_only_what_changed(engine, server, store):
    synced(engine, server, 1, 2)
    server.update_case(2, status="awaiting_school_place")
    report = engine.sync()
    assert report.cases_received == 1
    assert held(store) == {1: 1, 2: 2}
    assert store.records.get(state.CASES, "2")["status"] == "awaiting_school_place"


def test_offline_ttl_follows_the_server(engine, server, store):
    server.offline_ttl = 7200
    synced(engine, server, 1)
    assert store.state.get(state.OFFLINE_TTL) == 7200


# ---- removals -------------------------------------------------------------------------------------------------
def test_removed_case_without_pending_work_is_purged(engine, server, store):
    synced(engine, server, 1, 2)
    visit = engine.capture.record_visit(2, **VISIT)
    engine.sync()
    server.unassign(2)
    report = engine.sync()
    assert held(store) == {1: 1}
    assert report.purged == 1 and report.consistent is True
    assert store.records.get(state.VISITS, visit) is None  # the visit index for the case went with it


def test_removed_case_is_kept_while_its_ops_wait_and_purged_after_they_are_pushed(engine, store):
    store.records.put(state.CASES, "3", 1, make_case(3))
    engine.capture.record_visit(3, **VISIT)
    holdings = engine.holdings
    page = _page(removed=[3], cursor="c1")
    assert holdings.apply_page(page, "2025-06-02T08:00:00+00:00") == (0, 0, 1)
    assert held(store) == {3: 1} and holdings.leaving() == [3]
    assert holdings.purge_leaving() == 0  # still pending: kept
    store.outbox.acknowledge([item.op_id for item in store.outbox.pending()])
    assert holdings.purge_leaving() == 1
    assert held(store) == {} and holdings.leaving() == []


def test_leaving_case_is_purged_by_the_sync_that_pushes_its_ops(engine, server, store, sleeps):
    synced(engine, server, 1, 2)
    visit = engine.capture.record_visit(2, **VISIT)
    engine.capture.add_photo(visit, b"\x89PNG" + b"x" * 3000, "image/png")
    server.fail("PATCH /api/uploads/", 503, times=3)  # the photo cannot get through this time
    server.unassign(2)
    report = engine.sync()
    assert report.photos_failed == 1 and report.leaving == 1
    assert held(store) == {1: 1, 2: 1}  # kept: its attach op is still pending
    assert [item.kind for item in store.outbox.pending()] == ["attach_photo"]
    report = engine.sync()
    assert report.photos_uploaded == 1 and report.purged == 1
    assert held(store) == {1: 1} and store.outbox.pending() == [] and engine.holdings.leaving() == []


# ---- push -----------------------------------------------------------------------------------------------------
def test_push_applied_empties_the_outbox(engine, server, store):
    synced(engine, server, 1)
    op_id = engine.capture.record_visit(1, **VISIT)
    report = engine.sync()
    assert store.outbox.pending() == []
    assert report.statuses == {"applied": 1}
    assert server.apply_counts[op_id] == 1
    assert store.state.get(state.RESULTS, []) == []


def test_quarantined_and_clash_are_removed_and_remembered(engine, server, store):
    synced(engine, server, 1, 2)
    quarantined = engine.capture.record_visit(2, **VISIT)
    server.unassign(2)  # the case left scope before the visit arrived: kept by the server for review
    first = engine.capture.record_visit(1, **VISIT)
    engine.sync()
    wire = server.applied[first][1]
    changed = dict(_wire_of(server, first), payload={"visited_at": "2025-06-01T10:00:00+01:00",
                                                      "outcome": "refused"})
    store.outbox.add(first, "1", "record_home_visit", changed)  # same op id, different content
    report = engine.sync()
    assert wire["status"] == "applied" and report.statuses == {"clash": 1}
    assert store.outbox.pending() == []
    results = {r["op_id"]: r for r in store.state.get(state.RESULTS)}
    assert results[quarantined]["status"] == "quarantined" and results[quarantined]["reason"] == "out_of_scope"
    assert results[first]["status"] == "clash"
    assert [r["status"] for r in engine.status()["results"]] == ["quarantined", "clash"]


def test_same_op_pushed_twice_is_a_duplicate(engine, server, store):
    synced(engine, server, 1)
    op_id = engine.capture.record_visit(1, **VISIT)
    op = store.outbox.pending()[0].op
    engine.sync()
    store.outbox.add(op_id, "1", op["kind"], op)
    report = engine.sync()
    assert report.statuses == {"duplicate": 1} and store.outbox.pending() == []
    assert server.apply_counts[op_id] == 1


def test_hard_conflict_keeps_the_fields_for_status(engine, server, store):
    synced(engine, server, 1)
    server.force["propose_case_change"] = {"status": "conflict_hard", "case_version": 3,
                                           "hard_fields": {"contact_phone": ["01632 960002", "01632 960003"]}}
    op_id = engine.capture.propose_change(1, {"contact_phone": "01632 960003"})
    engine.sync()
    [result] = store.state.get(state.RESULTS)
    assert (result["op_id"], result["status"], result["fields"]) == (op_id, "conflict_hard", ["contact_phone"])
    assert "01632" not in repr(result)  # the values themselves are not kept on the device


def test_5xx_is_retried_with_backoff_then_succeeds(engine, server, store, sleeps):
    synced(engine, server, 1)
    op_id = engine.capture.record_visit(1, **VISIT)
    server.fail("POST /api/sync/push", 503, times=2)
    report = engine.sync()
    assert report.statuses == {"applied": 1} and store.outbox.pending() == []
    assert len(sleeps) == 2 and all(0 <= s <= 1.0 for s in sleeps)  # full jitter below 0.5 then 1.0
    assert server.apply_counts[op_id] == 1


def test_lost_response_is_retried_and_the_duplicate_empties_the_outbox_once(engine, server, store):
    synced(engine, server, 1)
    op_id = engine.capture.record_visit(1, **VISIT)
    server.fail("POST /api/sync/push", "lose")  # applied on the server, answer lost on the way back
    report = engine.sync()
    assert server.calls.count("POST /api/sync/push") == 2
    assert report.statuses == {"duplicate": 1} and report.pushed == 1
    assert server.apply_counts[op_id] == 1 and store.outbox.pending() == []


def test_push_that_keeps_failing_keeps_the_op_and_counts_the_attempt(engine, server, store):
    synced(engine, server, 1)
    engine.capture.record_visit(1, **VISIT)
    last_contact = store.state.get(state.LAST_CONTACT)
    server.fail("POST /api/sync/push", 429, times=10)
    with pytest.raises(TransportError) as caught:
        engine.sync()
    assert caught.value.retryable and caught.value.status == 429
    [item] = store.outbox.pending()
    assert item.attempts == 1 and "429" in item.last_error
    assert store.state.get(state.LAST_CONTACT) == last_contact  # no contact recorded for a failed sync


def test_network_down_keeps_everything(engine, server, store):
    synced(engine, server, 1)
    engine.capture.record_visit(1, **VISIT)
    server.fail("POST /api/sync/push", "down", times=10)
    with pytest.raises(TransportError) as caught:
        engine.sync()
    assert caught.value.retryable and caught.value.status is None
    assert len(store.outbox.pending()) == 1 and held(store) == {1: 1}


def test_records_are_pushed_in_batches_in_order(engine, server, store):
    synced(engine, server, 1)
    ids = [engine.capture.record_visit(1, **VISIT) for _ in range(5)]
    engine.push_batch = 2
    report = engine.sync()
    assert server.calls.count("POST /api/sync/push") == 3
    assert report.pushed == 5 and list(server.applied) == ids


# ---- device control -------------------------------------------------------------------------------------------
def test_revoked_device_erases_its_store_at_once(engine, server, store, tmp_path):
    synced(engine, server, 1)
    engine.capture.record_visit(1, **VISIT)
    server.status = "revoked"
    with pytest.raises(DeviceRevoked):
        engine.sync()
    assert engine.erased and not Store.exists(tmp_path / "store")


def test_retired_device_pushes_everything_says_goodbye_and_erases(engine, server, store, tmp_path):
    synced(engine, server, 1)
    op_id = engine.capture.record_visit(1, **VISIT)
    engine.capture.add_photo(op_id, b"%PDF-1.4 letter", "application/pdf")
    server.status = "retired"
    report = engine.sync()
    assert report.retired and server.goodbyes == 1 and server.status == "wiped"
    assert server.apply_counts[op_id] == 1 and len(server.photos) == 1
    assert not Store.exists(tmp_path / "store")


def test_retired_device_with_work_it_cannot_send_does_not_wipe(engine, server, store, tmp_path):
    from field_client.engine import RetirementIncomplete

    synced(engine, server, 1)
    op_id = engine.capture.record_visit(1, **VISIT)
    engine.capture.add_photo(op_id, b"%PDF-1.4 letter", "application/pdf")
    server.status = "retired"
    server.fail("POST /api/uploads", 503, times=100)
    with pytest.raises(RetirementIncomplete):
        engine.sync()
    assert server.goodbyes == 0 and Store.exists(tmp_path / "store")
    assert [item.kind for item in store.outbox.pending()] == ["attach_photo"]


# ---- resync and consistency -------------------------------------------------------------------------------------
def test_server_resync_rebuilds_the_scope(engine, server, store):
    synced(engine, server, 1, 2)
    store.records.put(state.CASES, "9", 4, make_case(9, version=4))  # something the server never sent
    server.epoch += 1  # a supervisor asked for a resync
    report = engine.sync()
    assert report.resyncs == 1 and report.consistent is True
    assert held(store) == {1: 1, 2: 1}
    assert decode_cursor(store.state.get(state.CURSOR)).scope_epoch == 1


def test_resync_keeps_cases_with_pending_ops_until_pushed(engine, server, store):
    synced(engine, server, 1)
    store.records.put(state.CASES, "8", 1, make_case(8))
    engine.capture.record_visit(8, **VISIT)
    engine.holdings.reset(None)
    assert held(store) == {8: 1} and engine.holdings.leaving() == [8]
    assert store.state.get(state.CURSOR) is None


def test_digest_mismatch_resyncs_once(engine, server, store):
    synced(engine, server, 1, 2)
    store.records.delete(state.CASES, "2")  # lost locally (damage, an old bug): the check must notice
    report = engine.sync()
    assert report.resyncs >= 1 and report.consistent is True
    assert held(store) == {1: 1, 2: 1}


# ---- cursor durability --------------------------------------------------------------------------------------------
def test_failure_while_writing_a_page_leaves_the_old_cursor_and_no_partial_page(engine, server, store, monkeypatch):
    synced(engine, server, 1)
    cursor = store.state.get(state.CURSOR)
    server.assign(make_case(2), make_case(3))
    real_put, calls = store.records.put, []

    def failing_put(table, record_id, version, data):
        calls.append(record_id)
        if len(calls) == 2:
            raise OSError("disk full")
        return real_put(table, record_id, version, data)

    monkeypatch.setattr(store.records, "put", failing_put)
    with pytest.raises(OSError):
        engine.sync()
    monkeypatch.undo()
    assert store.state.get(state.CURSOR) == cursor
    assert held(store) == {1: 1}  # case 2 was written first, and rolled back with the page
    engine.sync()
    assert held(store) == {1: 1, 2: 1, 3: 1}


# ---- offline lock -------------------------------------------------------------------------------------------------------
def test_offline_too_long_locks_until_a_sync_succeeds(engine, server, store, clock):
    synced(engine, server, 1)
    assert not engine.locked()
    clock.advance(hours=2)  # ttl is one hour
    assert engine.locked()
    with pytest.raises(DeviceLocked):
        engine.cases()
    with pytest.raises(DeviceLocked):
        engine.capture.record_visit(1, **VISIT)
    assert engine.status()["locked"] is True
    engine.sync()
    assert not engine.locked() and [c["id"] for c in engine.cases()] == [1]


def test_no_capture_slips_past_the_offline_lock_now_that_the_engine_has_no_pass_throughs(engine, server, store,
                                                                                        clock):
    # Capture is reached as engine.capture (explicit signatures); the lock must guard every one of its methods.
    synced(engine, server, 1)
    visit = engine.capture.record_visit(1, **VISIT)
    clock.advance(hours=2)
    attempts = [lambda: engine.capture.record_visit(1, **VISIT),
                lambda: engine.capture.record_address_check(1, "council_tax", "no_record"),
                lambda: engine.capture.add_photo(visit, b"photo", "image/jpeg"),
                lambda: engine.capture.propose_change(1, {"contact_phone": "01632 960002"}),
                lambda: engine.capture.acknowledge_assignment(1)]
    for attempt in attempts:
        with pytest.raises(DeviceLocked):
            attempt()
    assert [item.op_id for item in store.outbox.pending()] == [visit]
    assert not any(hasattr(SyncEngine, name) for name in ("record_visit", "record_address_check", "add_photo"))


def test_op_ids_come_from_the_injected_source(store, server, clock):
    ids = iter(["11111111-1111-4111-8111-111111111111"])
    engine = SyncEngine(store, None, clock=clock, new_op_id=lambda: next(ids))
    store.records.put(state.CASES, "1", 1, make_case(1))
    assert engine.capture.record_visit(1, **VISIT) == "11111111-1111-4111-8111-111111111111"


def test_a_clock_wound_back_locks(engine, server, clock):
    synced(engine, server, 1)
    clock.advance(days=-1)
    assert engine.locked()


def test_a_failed_sync_does_not_unlock(engine, server, clock):
    synced(engine, server, 1)
    clock.advance(hours=2)
    server.fail("GET /api/sync/pull", "down", times=10)
    with pytest.raises(TransportError):
        engine.sync()
    assert engine.locked()


def test_status_reports_device_and_queues(engine, server, store, clock):
    synced(engine, server, 1)
    engine.capture.record_visit(1, **VISIT)
    clock.advance(minutes=30)
    info = engine.status()
    assert info["device_id"] == 11 and info["pending_ops"] == 1 and info["held_cases"] == 1
    assert info["cursor_age_seconds"] == 1800 and info["locked"] is False
    assert info["last_sync"] is not None and info["pending_photos"] == 0


# ---- helpers -----------------------------------------------------------------------------------------------------------
def _page(**overrides):
    from field_client.holdings import Page

    values = {"cases": [], "removed": [], "cursor": "c", "more": False, "resync": False, "offline_ttl_seconds": None}
    values.update(overrides)
    return Page(**values)


def _wire_of(server: FakeServer, op_id: str) -> dict:
    return {"op_id": op_id, "kind": "record_home_visit", "case_id": 1, "device_time": "2025-06-02T09:30:00+01:00",
            "payload": {}, "base_version": None}

"""A no-change sync costs as few requests as possible (issue 8): no push when nothing is pending, one pull page,
and the consistency check only when the holdings could differ from what the server last confirmed."""
from __future__ import annotations

from field_client import state
from field_client.engine import CHECK_EVERY
from tests.unit.field_client.fake_sync_server import make_case
from tests.unit.field_client.field_fixtures import (  # noqa: F401  (fixtures)
    clock, engine, server, sleeps, store,
)


def test_no_change_sync_is_one_pull_request_and_no_check(engine, server):
    server.assign(make_case(1), make_case(2))
    engine.sync()  # the first sync receives cases, so it checks
    server.calls.clear()
    report = engine.sync()
    assert server.calls == ["GET /api/sync/pull"]
    assert report.consistent is True


def test_sync_that_received_a_change_still_checks(engine, server):
    server.assign(make_case(1))
    engine.sync()
    server.assign(make_case(1, version=2))
    server.calls.clear()
    engine.sync()
    assert "POST /api/sync/check" in server.calls


def test_locally_damaged_holdings_are_checked_without_waiting(engine, server, store):
    server.assign(make_case(1), make_case(2))
    engine.sync()
    store.records.delete(state.CASES, "2")
    report = engine.sync()
    assert report.resyncs >= 1 and {int(c) for c, _ in store.records.ids_and_versions(state.CASES)} == {1, 2}


def test_consistency_is_rechecked_every_n_syncs_even_without_changes(engine, server):
    server.assign(make_case(1))
    engine.sync()
    checks = 0
    for _ in range(CHECK_EVERY + 1):
        server.calls.clear()
        engine.sync()
        checks += server.calls.count("POST /api/sync/check")
    assert checks == 1

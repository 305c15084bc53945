"""A no-change sync costs as few requests and as little work as it safely can (issue 8): no push when nothing is
pending, one pull page that also answers the consistency check, whose digest is not recomputed (every record
decrypted) when the holdings have not changed since it was last computed."""
from __future__ import annotations

from field_client import state
from tests.unit.field_client.fake_sync_server import make_case
from tests.unit.field_client.field_fixtures import (  # noqa: F401  (fixtures)
    clock, engine, server, sleeps, store,
)


def _count_digests(engine, monkeypatch) -> list[int]:
    calls: list[int] = []
    real = engine.holdings.digest

    def counted():
        calls.append(1)
        return real()

    monkeypatch.setattr(engine.holdings, "digest", counted)
    return calls


def test_no_change_sync_is_one_pull_answering_the_check_without_decrypting_the_holdings(engine, server,
                                                                                        monkeypatch):
    server.assign(make_case(1), make_case(2))
    engine.sync()
    engine.sync()  # the digest of the holdings as they are after the first sync's page
    server.calls.clear()
    digests = _count_digests(engine, monkeypatch)
    report = engine.sync()
    assert server.calls == ["GET /api/sync/pull"]
    assert report.consistent is True and digests == []


def test_a_one_change_sync_is_one_pull_too(engine, server):
    server.assign(make_case(1), make_case(2))
    engine.sync()
    server.update_case(2, contact_phone="01632 960002")
    server.calls.clear()
    report = engine.sync()
    assert server.calls == ["GET /api/sync/pull"] and report.consistent is True
    assert engine.holdings.version(2) == 2


def test_a_removal_hidden_by_a_lost_pull_answer_is_found_by_the_next_pages_digest(engine, server):
    """The pull is answered (the server forgets case 2) but the answer is lost; the retried pull names no
    removal, yet its digest (still counting case 2) disagrees, so the check is asked and the resync drops it."""
    server.assign(make_case(1), make_case(2))
    engine.sync()
    server.unassign(2)
    server.fail("GET /api/sync/pull", "lose")
    server.calls.clear()
    report = engine.sync()
    assert report.resyncs >= 1 and report.consistent is True
    assert "POST /api/sync/check" in server.calls
    assert {int(c) for c, _ in engine.store.records.ids_and_versions("cases")} == {1}


def test_a_pull_answered_twice_costs_a_check_not_a_resync(engine, server):
    """A page that only sent a case, processed twice: the second answer's check disagrees (the server already
    recorded the case), but what the device holds afterwards agrees, so nothing is rebuilt."""
    server.assign(make_case(1))
    engine.sync()
    server.update_case(1, contact_phone="01632 960002")
    server.fail("GET /api/sync/pull", "lose")
    server.calls.clear()
    report = engine.sync()
    assert report.resyncs == 0 and report.consistent is True
    assert server.calls == ["GET /api/sync/pull", "GET /api/sync/pull", "POST /api/sync/check"]


def test_a_server_whose_pull_answers_no_check_is_asked_separately(engine, server, monkeypatch):
    server.assign(make_case(1))
    engine.sync()
    monkeypatch.setattr(server, "_pull_check", lambda query: None)
    server.calls.clear()
    report = engine.sync()
    assert server.calls == ["GET /api/sync/pull", "POST /api/sync/check"] and report.consistent is True


def test_a_changed_case_makes_the_digest_be_computed_again(engine, server, monkeypatch):
    server.assign(make_case(1))
    engine.sync()
    server.assign(make_case(1, version=2))
    digests = _count_digests(engine, monkeypatch)
    report = engine.sync()
    assert report.consistent is True and len(digests) == 1


def test_locally_damaged_holdings_are_not_hidden_by_the_cached_digest(engine, server, store):
    server.assign(make_case(1), make_case(2))
    engine.sync()
    store.records.delete(state.CASES, "2")
    report = engine.sync()
    assert report.resyncs >= 1 and report.consistent is True
    assert {int(c) for c, _ in store.records.ids_and_versions(state.CASES)} == {1, 2}

"""A no-change sync costs as few requests and as little work as it safely can (issue 8): no push when nothing is
pending, one pull page, and the consistency check, whose digest is not recomputed (every record decrypted)
when the holdings have not changed since it was last computed."""
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


def test_no_change_sync_is_a_pull_and_a_check_without_decrypting_the_holdings(engine, server, monkeypatch):
    server.assign(make_case(1), make_case(2))
    engine.sync()
    server.calls.clear()
    digests = _count_digests(engine, monkeypatch)
    report = engine.sync()
    assert server.calls == ["GET /api/sync/pull", "POST /api/sync/check"]
    assert report.consistent is True and digests == []


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

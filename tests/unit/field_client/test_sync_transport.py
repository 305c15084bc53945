"""`SyncTransport` is all the engine and the photo uploader need from the link: the HTTP `Transport` satisfies it,
and so does an in-memory double, which can then drive a whole sync (record, photo, pull, check) on its own."""

from __future__ import annotations

import inspect
from typing import Any

from field_client.engine import SyncEngine
from field_client.store import Store
from field_client.sync_transport import ChunkSource, ProgressSink, SyncTransport
from field_client.transport import Transport
from sync.cursor import encode_cursor, holdings_digest
from tests.unit.field_client.fake_sync_server import BASE, TOKEN, FakeServer, make_case
from tests.unit.field_client.field_fixtures import clock, store  # noqa: F401  (fixtures)

NOW = "2025-06-01T10:00:00+00:00"


class InMemoryTransport:
    """A test double with no HTTP at all: one case in scope, every op applied, every photo accepted."""

    def __init__(self) -> None:
        self.pushed: list[dict[str, Any]] = []
        self.uploaded: dict[str, bytes] = {}

    def pull(self, cursor: str | None, limit: int, digest: str | None = None,
             count: int | None = None) -> dict[str, Any]:  # answers no check: the engine asks separately
        cases = [] if cursor else [make_case(1)]
        return {"cases": cases, "removed": [], "cursor": encode_cursor(1, 0), "more": False, "resync": False,
                "server_time": NOW, "offline_ttl_seconds": 3600}

    def push(self, ops: list[dict[str, Any]]) -> dict[str, Any]:
        self.pushed += ops
        return {"results": [{"op_id": op["op_id"], "status": "applied", "case_id": op["case_id"]} for op in ops],
                "server_time": NOW}

    def check(self, digest: str, count: int) -> dict[str, Any]:
        match = digest == holdings_digest([(1, 1)]) and count == 1
        return {"match": match, "server_count": 1, "resync": not match, "server_time": NOW}

    def goodbye(self) -> None:
        pass

    def upload_photo(self, upload_url: str | None, size: int, sha256: str, content_type: str,
                     chunks_from: ChunkSource, on_progress: ProgressSink | None = None,
                     filename: str | None = None) -> str:
        url = f"mem://uploads/{sha256}"
        self.uploaded[url] = b"".join(chunks_from(0))
        return url


class NoGoodbye:
    def pull(self, cursor: str | None, limit: int) -> dict[str, Any]: ...
    def push(self, ops: list[dict[str, Any]]) -> dict[str, Any]: ...
    def check(self, digest: str, count: int) -> dict[str, Any]: ...
    def upload_photo(self, *args: Any) -> str: ...


def _methods() -> list[str]:
    return [name for name, _ in inspect.getmembers(SyncTransport, inspect.isfunction) if not name.startswith("_")]


def test_the_http_transport_and_an_in_memory_double_both_satisfy_sync_transport() -> None:
    assert isinstance(Transport(BASE, TOKEN, session=FakeServer().session()), SyncTransport)
    assert isinstance(InMemoryTransport(), SyncTransport)
    assert not isinstance(NoGoodbye(), SyncTransport)  # a missing method is caught, not found mid-sync


def test_the_http_transport_takes_the_protocol_methods_with_the_same_parameters() -> None:
    # runtime_checkable only sees names; a renamed or reordered parameter would break keyword callers.
    assert _methods() == ["check", "goodbye", "pull", "push", "upload_photo"]
    for name in _methods():
        wanted = list(inspect.signature(getattr(SyncTransport, name)).parameters)
        assert list(inspect.signature(getattr(Transport, name)).parameters) == wanted, name


def test_an_engine_syncs_a_visit_and_its_photo_through_any_sync_transport(store: Store, clock) -> None:  # noqa: F811
    link = InMemoryTransport()
    engine = SyncEngine(store, link, clock=clock, sleep=lambda _: None)
    engine.sync()
    visit = engine.capture.record_visit(1, "no_answer", notice_left=True)
    photo = engine.capture.add_photo(visit, b"\xff\xd8 a notice left at the door", "image/jpeg")
    report = engine.sync()
    assert [op["op_id"] for op in link.pushed] == [visit, photo]  # the attach op only once the photo is up
    assert list(link.uploaded.values()) == [b"\xff\xd8 a notice left at the door"]
    assert report.consistent is True and report.pending == 0
    assert store.outbox.pending() == [] and store.photos.ids() == []

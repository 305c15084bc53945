"""Photos: encrypted at capture, uploaded with tus separately from the records, resumed from the saved offset."""

from __future__ import annotations

import hashlib
import os

from field_client import photos, state
from field_client.store import DB_NAME
from tests.unit.field_client.fake_sync_server import BASE, make_case
from tests.unit.field_client.field_fixtures import (  # noqa: F401  (fixtures)
    clock, engine, server, sleeps, store,
)

PHOTO = os.urandom(5000)
SHA = hashlib.sha256(PHOTO).hexdigest()


def visit_with_photo(engine, server, data: bytes = PHOTO) -> tuple[str, str]:
    server.assign(make_case(1))
    engine.sync()
    visit = engine.capture.record_visit(1, outcome="no_answer", notice_left=True)
    return visit, engine.capture.add_photo(visit, data, "image/jpeg", caption="Notice left at door")


def test_photo_is_encrypted_in_the_store_and_linked_after_upload(engine, server, store, tmp_path):
    visit, photo_op = visit_with_photo(engine, server)
    raw = (tmp_path / "store" / DB_NAME).read_bytes()
    assert PHOTO[:64] not in raw and b"Notice left" not in raw
    report = engine.sync()
    assert report.photos_uploaded == 1 and report.statuses == {"applied": 2}
    assert server.photos[SHA] == PHOTO
    upload = next(iter(server.uploads.values()))
    assert upload["meta"] == {"sha256": SHA, "content_type": "image/jpeg", "filename": f"{photo_op}.jpg"}
    assert store.outbox.pending() == [] and photos.entries(store) == {}
    assert store.records.ids_and_versions(state.CASES)  # the case is still held
    assert not _has_photo(store, photo_op)  # the server has it: the device copy is gone


def test_record_ops_go_first_and_attach_waits_for_its_upload(engine, server, store):
    visit, photo_op = visit_with_photo(engine, server)
    server.fail("POST /api/uploads", 503, times=100)
    report = engine.sync()
    assert server.apply_counts[visit] == 1  # the visit got through although the photo could not
    assert report.photos_failed == 1
    assert [item.op_id for item in store.outbox.pending()] == [photo_op]
    assert photo_op not in server.applied


def test_upload_cut_midway_resumes_from_the_servers_offset(engine, server, store, sleeps):
    _, photo_op = visit_with_photo(engine, server)
    server.cut_upload_at = 2500  # the connection drops inside the third 1 KiB chunk
    report = engine.sync()
    assert report.photos_uploaded == 1 and server.photos[SHA] == PHOTO
    assert server.patch_bytes == len(PHOTO)  # nothing before the cut was sent twice
    assert server.calls.count("POST /api/uploads") == 1 and "HEAD /api/uploads/up2" in server.calls
    assert len(sleeps) == 1


def test_interrupted_upload_resumes_on_the_next_sync(engine, server, store):
    _, photo_op = visit_with_photo(engine, server)
    server.cut_upload_at = 3000
    server.fail("HEAD /api/uploads/", "down", times=100)  # no way back to the upload in this sync
    report = engine.sync()
    entry = photos.entries(store)[photo_op]
    assert report.photos_failed == 1 and not entry["done"]
    assert entry["offset"] == 2048 and entry["url"] == f"{BASE}/api/uploads/up2" and entry["error"]
    server.faults.clear()
    report = engine.sync()
    assert report.photos_uploaded == 1 and server.photos[SHA] == PHOTO
    assert server.calls.count("POST /api/uploads") == 1  # resumed, not restarted
    assert server.patch_bytes == len(PHOTO)
    assert store.outbox.pending() == []


def test_expired_upload_starts_again(engine, server, store):
    _, photo_op = visit_with_photo(engine, server)
    uploads = photos.entries(store)
    uploads[photo_op].update(url=f"{BASE}/api/uploads/gone", offset=1024)
    store.state.set(state.UPLOADS, uploads)
    report = engine.sync()
    assert report.photos_uploaded == 1 and server.photos[SHA] == PHOTO
    assert server.calls.count("POST /api/uploads") == 1


def test_upload_rejected_by_the_server_is_recorded_and_restarted_next_time(engine, server, store):
    _, photo_op = visit_with_photo(engine, server)
    server.fail("PATCH /api/uploads/", 413)
    report = engine.sync()
    entry = photos.entries(store)[photo_op]
    assert report.photos_failed == 1 and entry["url"] is None and entry["offset"] == 0 and "413" in entry["error"]
    assert engine.status()["photo_errors"] == [entry["error"]]
    assert engine.sync().photos_uploaded == 1


def _has_photo(store, photo_id: str) -> bool:
    try:
        store.photos.size(photo_id)
    except Exception:
        return False
    return True

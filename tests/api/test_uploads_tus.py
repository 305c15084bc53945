"""tus 1.0 photo uploads at /api/uploads, linking a photo to a visit, and reading it back at /api/photos/<id>.
Every test runs with each blob store: BLOB_STORE=filesystem and BLOB_STORE=database."""
from __future__ import annotations

import base64
import hashlib
import os
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from server.adapters.access_models import AuditEntry
from server.adapters.blobs import FileBlobStore, blob_store_for
from server.adapters.pg_blobs import upload_chunks
from server.adapters.upload_models import Upload
from server.app import create_app
from server.domain.errors import Conflict, InvalidInput, NotFound
from server.service import uploads
from server.service.clock import utcnow
from server.service.security import authenticate
from sync.ops import MAX_PHOTO_BYTES
from tests.helpers import assign, create_case
from tests.sync_helpers import enrol, push, visit_op

TUS = {"Tus-Resumable": "1.0.0", "CME-Sync-Protocol": "1"}
OCTETS = "application/offset+octet-stream"


def b64(value: str | bytes) -> str:
    return base64.b64encode(value.encode() if isinstance(value, str) else value).decode()


def metadata(sha256: str, content_type: str = "image/jpeg", filename: str = "door.jpg") -> str:
    return f"sha256 {b64(sha256)},content_type {b64(content_type)},filename {b64(filename)}"


def create(client, account, data: bytes, *, sha256: str | None = None, length: int | None = None,
           content_type: str = "image/jpeg", headers: dict | None = None):
    return client.post("/api/uploads", headers={
        **TUS, **account.headers, "Upload-Length": str(len(data) if length is None else length),
        "Upload-Metadata": metadata(sha256 or hashlib.sha256(data).hexdigest(), content_type), **(headers or {})})


def start(client, account, data: bytes, **kwargs) -> str:
    resp = create(client, account, data, **kwargs)
    assert resp.status_code == 201, resp.get_json()
    return resp.headers["Location"]


def patch(client, account, url: str, offset: int, chunk: bytes, *, checksum: bytes | None | bool = True,
          headers: dict | None = None):
    h = {**TUS, **account.headers, "Upload-Offset": str(offset), "Content-Type": OCTETS, **(headers or {})}
    if checksum is True:
        checksum = hashlib.sha256(chunk).digest()
    if checksum:
        h["Upload-Checksum"] = f"sha256 {b64(checksum)}"
    return client.patch(url, data=chunk, headers=h)


def head(client, account, url: str):
    return client.head(url, headers={**TUS, **account.headers})


@pytest.fixture(params=["filesystem", "database"])
def app(request, database_url, tmp_path):
    app = create_app({"DATABASE_URL": database_url, "BLOB_DIR": str(tmp_path / "blobs"), "TESTING": True,
                      "BLOB_STORE": request.param})
    yield app
    if request.param == "database":
        blob_store_for(app).dispose()
    app.extensions["cme"]["engine"].dispose()


def stored(app, sha256: str) -> bytes | None:
    """The stored blob's bytes, or None; on the filesystem, read from where it must lie."""
    store = blob_store_for(app)
    if isinstance(store, FileBlobStore):
        path = Path(app.config["BLOB_DIR"]) / sha256[:2] / sha256[2:4] / sha256
        return path.read_bytes() if path.exists() else None
    if not store.exists(sha256):
        return None
    with store.open(sha256) as fh:
        return fh.read()


def parts_left(app, upload_id: str | None = None) -> list:
    """Parts (of one upload, or of any) and staged chunks the store still holds."""
    store = blob_store_for(app)
    if isinstance(store, FileBlobStore):
        return sorted(p.name for p in store.uploads.iterdir() if upload_id is None or p.name.startswith(upload_id))
    query = select(upload_chunks.c.upload_id).distinct()
    if upload_id is not None:
        query = query.where(upload_chunks.c.upload_id == upload_id)
    with store.engine.connect() as conn:
        return conn.scalars(query).all() + sorted(p.name for p in store.staging.iterdir())


def staged_left(app) -> list[str]:
    store = blob_store_for(app)
    where = store.uploads if isinstance(store, FileBlobStore) else store.staging
    return sorted(p.name for p in where.glob("*.chunk"))


def test_options_advertises_tus(client):
    resp = client.options("/api/uploads")
    assert resp.status_code == 204
    assert resp.headers["Tus-Version"] == "1.0.0"
    assert set(resp.headers["Tus-Extension"].split(",")) == {"creation", "checksum", "expiration", "termination"}
    assert resp.headers["Tus-Checksum-Algorithm"] == "sha256"
    assert resp.headers["Tus-Max-Size"] == str(MAX_PHOTO_BYTES)


def test_create_then_resume_from_the_offset(app, client, accounts):
    officer, data = accounts["officer"], os.urandom(300_000)
    resp = create(client, officer, data)
    assert resp.status_code == 201 and resp.headers["Tus-Resumable"] == "1.0.0"
    url = resp.headers["Location"]
    assert url.startswith("/api/uploads/") and "GMT" in resp.headers["Upload-Expires"]
    half = len(data) // 2
    first = patch(client, officer, url, 0, data[:half])
    assert first.status_code == 204 and first.headers["Upload-Offset"] == str(half)
    probe = head(client, officer, url)
    assert probe.status_code == 200 and probe.headers["Cache-Control"] == "no-store"
    assert (probe.headers["Upload-Offset"], probe.headers["Upload-Length"]) == (str(half), str(len(data)))
    last = patch(client, officer, url, int(probe.headers["Upload-Offset"]), data[half:])
    assert last.status_code == 204 and last.headers["Upload-Offset"] == str(len(data))
    sha = hashlib.sha256(data).hexdigest()
    assert stored(app, sha) == data
    assert parts_left(app) == []  # the part went once the blob was stored
    done = head(client, officer, url)
    assert done.headers["Upload-Offset"] == str(len(data)) and "Upload-Expires" not in done.headers


def test_chunk_checksum_mismatch_is_460_and_the_offset_stays(app, client, accounts):
    officer, data = accounts["officer"], os.urandom(1000)
    url = start(client, officer, data)
    bad = patch(client, officer, url, 0, data[:500], checksum=hashlib.sha256(b"other").digest())
    assert bad.status_code == 460 and bad.content_type == "application/problem+json"
    assert bad.get_json()["type"].endswith("/checksum-mismatch")
    assert head(client, officer, url).headers["Upload-Offset"] == "0"
    assert staged_left(app) == []
    unknown = patch(client, officer, url, 0, data[:500], checksum=None,
                    headers={"Upload-Checksum": "md5 " + b64(b"x" * 16)})
    assert unknown.status_code == 400
    assert patch(client, officer, url, 0, data[:500]).headers["Upload-Offset"] == "500"


def test_whole_file_hash_mismatch_discards_the_upload(app, client, accounts):
    officer, data = accounts["officer"], os.urandom(2000)
    wrong = hashlib.sha256(b"not this file").hexdigest()
    url = start(client, officer, data, sha256=wrong)
    assert patch(client, officer, url, 0, data[:1000]).status_code == 204
    resp = patch(client, officer, url, 1000, data[1000:])
    assert resp.status_code == 422 and resp.get_json()["field"] == "sha256"
    assert head(client, officer, url).status_code == 404
    assert stored(app, hashlib.sha256(data).hexdigest()) is None and stored(app, wrong) is None
    assert parts_left(app) == []


def test_too_large_is_413(client, accounts):
    officer = accounts["officer"]
    resp = create(client, officer, b"", length=MAX_PHOTO_BYTES + 1, sha256="a" * 64)
    assert resp.status_code == 413 and resp.get_json()["field"] == "Upload-Length"
    url = start(client, officer, b"x" * 10)
    past_end = patch(client, officer, url, 0, b"x" * 11)
    assert past_end.status_code == 413 and head(client, officer, url).headers["Upload-Offset"] == "0"


def test_a_patch_over_the_chunk_limit_is_413(client, accounts):
    officer, size = accounts["officer"], uploads.MAX_CHUNK_BYTES + 1
    url = start(client, officer, b"", length=size, sha256="b" * 64)
    assert patch(client, officer, url, 0, b"\0" * size, checksum=None).status_code == 413
    assert head(client, officer, url).headers["Upload-Offset"] == "0"


def test_wrong_content_types_are_415(client, accounts):
    officer = accounts["officer"]
    resp = create(client, officer, b"<html>", content_type="text/html")
    assert resp.status_code == 415 and resp.get_json()["field"] == "content_type"
    url = start(client, officer, b"abc")
    raw = patch(client, officer, url, 0, b"abc", headers={"Content-Type": "application/octet-stream"})
    assert raw.status_code == 415


def test_protocol_headers_are_required(client, accounts):
    officer = accounts["officer"]
    wrong = create(client, officer, b"abc", headers={"Tus-Resumable": "0.2.2"})
    assert wrong.status_code == 412 and wrong.headers["Tus-Version"] == "1.0.0"
    no_sync = client.post("/api/uploads", headers={"Tus-Resumable": "1.0.0", **officer.headers,
                                                   "Upload-Length": "3", "Upload-Metadata": metadata("c" * 64)})
    assert no_sync.status_code == 400 and no_sync.get_json()["type"].endswith("/unsupported-protocol")
    no_token = client.post("/api/uploads", headers={**TUS, "Upload-Length": "3",
                                                    "Upload-Metadata": metadata("c" * 64)})
    assert no_token.status_code == 401


@pytest.mark.parametrize("meta, field", [
    ("content_type " + b64("image/png"), "sha256"),
    ("sha256 " + b64("xyz") + ",content_type " + b64("image/png"), "sha256"),
    ("sha256 !!notbase64", "Upload-Metadata"),
])
def test_metadata_must_name_the_hash(client, accounts, meta, field):
    resp = client.post("/api/uploads", headers={**TUS, **accounts["officer"].headers, "Upload-Length": "3",
                                                "Upload-Metadata": meta})
    assert resp.status_code in (400, 422) and resp.get_json()["field"] == field


def test_only_officers_upload_and_only_the_owner_sees_an_upload(client, accounts):
    assert create(client, accounts["supervisor"], b"abc").status_code == 403
    url = start(client, accounts["officer"], b"abcdef")
    other = accounts["officer2"]
    assert head(client, other, url).status_code == 404
    assert patch(client, other, url, 0, b"abc").status_code == 404
    assert client.delete(url, headers={**TUS, **other.headers}).status_code == 404
    assert head(client, accounts["officer"], url).headers["Upload-Offset"] == "0"


def test_offset_mismatch_is_409(client, accounts):
    officer = accounts["officer"]
    url = start(client, officer, b"abcdef")
    assert patch(client, officer, url, 3, b"def").status_code == 409


def test_expired_upload_is_refused_then_purged(app, client, accounts, uow):
    officer, data = accounts["officer"], os.urandom(100)
    url = start(client, officer, data)
    assert patch(client, officer, url, 0, data[:50]).status_code == 204
    upload_id = url.rsplit("/", 1)[1]
    assert parts_left(app, upload_id)
    with uow.transaction() as unit:
        session = unit.session
        session.get(Upload, upload_id).expires_at = utcnow() - timedelta(seconds=1)
    assert head(client, officer, url).status_code == 410
    assert patch(client, officer, url, 50, data[50:]).status_code == 410
    start(client, officer, b"another photo")  # creation purges what has expired
    assert not parts_left(app, upload_id)
    with uow.transaction() as unit:
        session = unit.session
        assert session.get(Upload, upload_id) is None
    assert head(client, officer, url).status_code == 404


def test_termination_removes_an_unfinished_upload(app, client, accounts):
    officer = accounts["officer"]
    url = start(client, officer, b"abcdef")
    patch(client, officer, url, 0, b"abc")
    assert client.delete(url, headers={**TUS, **officer.headers}).status_code == 204
    assert head(client, officer, url).status_code == 404
    assert parts_left(app) == []


def upload_whole(client, account, data: bytes) -> str:
    url = start(client, account, data)
    assert patch(client, account, url, 0, data).status_code == 204
    return hashlib.sha256(data).hexdigest()


def test_photo_travels_by_push_and_is_read_only_by_those_who_see_the_case(app, client, accounts, uow):
    sup, officer = accounts["supervisor"], accounts["officer"]
    case = create_case(client, sup)
    assign(client, sup, case["id"], officer.id)
    device = enrol(client, "officer")
    visit = visit_op(case["id"], "no_answer", notice_left=True)
    data = os.urandom(150_000)
    sha = hashlib.sha256(data).hexdigest()
    url = client.post("/api/uploads", headers={**TUS, **device["headers"], "Upload-Length": str(len(data)),
                                               "Upload-Metadata": metadata(sha)}).headers["Location"]
    sent = client.patch(url, data=data, headers={**TUS, **device["headers"], "Upload-Offset": "0",
                                                 "Content-Type": OCTETS})
    assert sent.status_code == 204
    attach = {"op_id": str(uuid.uuid4()), "kind": "attach_photo", "case_id": case["id"],
              "device_time": visit["device_time"], "payload": {"visit_op_id": visit["op_id"], "sha256": sha,
                                                               "size": len(data), "content_type": "image/jpeg"}}
    results = push(client, device, [visit, attach])
    assert [r["status"] for r in results] == ["applied", "applied"], results
    photo_url = f"/api/photos/{results[1]['result']['photo_id']}"
    for reader in (sup, officer):
        resp = client.get(photo_url, headers=reader.headers)
        assert resp.status_code == 200 and resp.data == data and resp.mimetype == "image/jpeg"
        assert "no-store" in resp.headers["Cache-Control"] and resp.headers["X-Content-Type-Options"] == "nosniff"
    for outsider in (accounts["officer2"], accounts["referrer"]):
        assert client.get(photo_url, headers=outsider.headers).status_code == 404
    with uow.transaction() as unit:
        session = unit.session
        reads = session.scalars(select(AuditEntry.actor_id).where(AuditEntry.action == "photo.read")).all()
    assert sorted(reads) == sorted([sup.id, officer.id])


def _link(app, uow, account, **kwargs):
    with app.app_context(), uow.transaction() as session:
        actor = authenticate(session, account.token)
        return uploads.link_photo(session, actor, **{"caption": None, "op_id": None, **kwargs})


def test_link_photo_needs_the_blob_its_size_and_an_own_upload(app, client, accounts, uow):
    sup, officer = accounts["supervisor"], accounts["officer"]
    case = create_case(client, sup)
    assign(client, sup, case["id"], officer.id)
    enquiry = client.post(f"/api/cases/{case['id']}/enquiries", json={"kind": "home_visit", "outcome": "no_answer"},
                          headers=officer.headers).get_json()
    data = os.urandom(5000)
    sha = upload_whole(client, officer, data)
    base = {"enquiry_id": enquiry["id"], "sha256": sha, "size": len(data), "content_type": "image/jpeg"}
    with pytest.raises(InvalidInput) as absent:
        _link(app, uow, officer, **{**base, "sha256": "d" * 64})
    assert absent.value.field == "sha256"
    with pytest.raises(InvalidInput):
        _link(app, uow, officer, **{**base, "size": len(data) + 1})
    with pytest.raises(InvalidInput):  # the blob exists, but the supervisor never uploaded it
        _link(app, uow, sup, **base)
    with pytest.raises(NotFound):  # not assigned: the enquiry's case is out of sight
        _link(app, uow, accounts["officer2"], **base)
    op_id = str(uuid.uuid4())
    first = _link(app, uow, officer, **base, op_id=op_id)
    assert _link(app, uow, officer, **base, op_id=op_id) == first
    with pytest.raises(Conflict):
        _link(app, uow, officer, **{**base, "sha256": upload_whole(client, officer, b"another")}, op_id=op_id)
    assert client.get(f"/api/photos/{first['id']}", headers=sup.headers).data == data


def test_the_same_photo_can_be_uploaded_twice(app, client, accounts):
    data = os.urandom(3000)
    assert upload_whole(client, accounts["officer"], data) == upload_whole(client, accounts["officer2"], data)
    assert blob_store_for(app).size(hashlib.sha256(data).hexdigest()) == len(data)

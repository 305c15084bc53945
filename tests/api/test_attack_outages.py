"""Database down, SQLite locked past its timeout, disk full (issue 7 item 15): 503 with Retry-After, or 507 for
full storage, never a 500; and a chunk that could not be written leaves nothing half-written behind."""
from __future__ import annotations

import errno
import hashlib
import os
import shutil
import sqlite3

import pytest
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from server.adapters import blobs as blob_module
from server.adapters import db as db_module
from server.adapters.migrate import upgrade
from server.api.problems import database_verdict
from server.app import create_app
from server.service import cases
from tests.api.test_uploads_tus import head, patch, start
from tests.helpers import CHILD

PROBLEM = "application/problem+json"


def _outage(resp, status: int, code: str) -> dict:
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.content_type == PROBLEM and int(resp.headers["Retry-After"]) > 0
    problem = resp.get_json()
    assert problem["type"].endswith("/" + code)
    return problem


def test_postgresql_that_nothing_listens_on_is_503_with_retry_after(tmp_path):
    app = create_app({"DATABASE_URL": "postgresql://postgres@127.0.0.1:1/test", "BLOB_DIR": str(tmp_path),
                      "TESTING": True})
    try:
        client = app.test_client()
        _outage(client.get("/api/cases", headers={"Authorization": "Bearer whatever"}), 503, "unavailable")
        _outage(client.post("/api/auth/login", json={"username": "sam", "password": "x"}), 503, "unavailable")
    finally:
        app.extensions["cme"]["engine"].dispose()


@pytest.fixture
def short_busy_timeout(monkeypatch):
    monkeypatch.setattr(db_module, "SQLITE_BUSY_TIMEOUT_S", 0.2)


def test_sqlite_locked_past_its_busy_timeout_is_503_not_500(short_busy_timeout, database_template, tmp_path):
    """Its own SQLite file whichever database the suite runs on: the lock is SQLite's."""
    kind, template = database_template
    path = tmp_path / "locked.sqlite3"
    if kind == "sqlite":
        shutil.copy(template, path)
    else:
        upgrade(f"sqlite:///{path}")
    app = create_app({"DATABASE_URL": f"sqlite:///{path}", "BLOB_DIR": str(tmp_path / "blobs"), "TESTING": True})
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        resp = app.test_client().post("/api/cases", json=CHILD, headers={"Authorization": "Bearer whatever"})
        _outage(resp, 503, "busy")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        app.extensions["cme"]["engine"].dispose()


class _Orig(Exception):
    def __init__(self, sqlstate=None, sqlite_errorcode=None):
        super().__init__("driver error")
        self.sqlstate, self.sqlite_errorcode = sqlstate, sqlite_errorcode


@pytest.mark.parametrize(("error", "verdict"), [
    (OperationalError("SELECT 1", {}, _Orig("40001")), "busy"),          # serialisation failure
    (OperationalError("SELECT 1", {}, _Orig("40P01")), "busy"),          # deadlock
    (OperationalError("SELECT 1", {}, _Orig("55P03")), "busy"),          # lock not available
    (OperationalError("SELECT 1", {}, _Orig(sqlite_errorcode=5)), "busy"),  # SQLITE_BUSY
    (OperationalError("SELECT 1", {}, _Orig(sqlite_errorcode=261)), "busy"),  # SQLITE_BUSY_RECOVERY
    (OperationalError("SELECT 1", {}, _Orig("53100")), "insufficient-storage"),  # PostgreSQL disk full
    (OperationalError("SELECT 1", {}, _Orig(sqlite_errorcode=13)), "insufficient-storage"),  # SQLITE_FULL
    (OperationalError("SELECT 1", {}, _Orig("08006")), "unavailable"),   # connection failure
    (InterfaceError("SELECT 1", {}, _Orig()), "unavailable"),
    (IntegrityError("INSERT", {}, _Orig("23505")), None),                # a real fault: 500
])
def test_database_failures_are_judged_outages_not_faults(error, verdict):
    assert database_verdict(error) == verdict


def test_no_free_database_connection_is_503(client, accounts, monkeypatch):
    def exhausted(*_args, **_kwargs):
        raise PoolTimeout("QueuePool limit of size 5 overflow 10 reached")

    monkeypatch.setattr(cases, "get_case", exhausted)
    _outage(client.get("/api/cases/1", headers=accounts["supervisor"].headers), 503, "busy")


@pytest.fixture
def fs_app(database_url, tmp_path):
    app = create_app({"DATABASE_URL": database_url, "BLOB_DIR": str(tmp_path / "blobs"), "TESTING": True,
                      "BLOB_STORE": "filesystem"})
    yield app
    app.extensions["cme"]["engine"].dispose()


def _files(root) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_size for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("where", ["staging", "append", "complete"])
def test_disk_full_during_a_tus_upload_is_507_and_leaves_nothing_half_written(fs_app, tmp_path, monkeypatch,
                                                                              password_hash, where):
    """ENOSPC while staging the chunk, while appending it to the part, or while storing the finished file:
    507 with Retry-After; the offset stays where it was and no partial file is left to be mistaken for data."""
    client = fs_app.test_client()
    officer = _officer(fs_app, password_hash)
    data = os.urandom(3000)
    url = start(client, officer, data)
    assert patch(client, officer, url, 0, data[:1000]).status_code == 204
    root = tmp_path / "blobs"
    before = _files(root)
    real_copy = blob_module._copy

    def full_disk(src, out, limit):
        mode = getattr(out, "mode", "")
        target = {"xb": "staging", "rb+": "append", "wb": "complete"}.get(mode)
        if target == where:
            out.write(b"\0" * 700)  # some bytes reach the disk before it fills
            out.flush()
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_copy(src, out, limit)

    monkeypatch.setattr(blob_module, "_copy", full_disk)
    resp = patch(client, officer, url, 1000, data[1000:])
    problem = _outage(resp, 507, "insufficient-storage")
    assert problem["status"] == 507
    assert head(client, officer, url).headers["Upload-Offset"] == "1000"
    after = _files(root)
    if where == "complete":
        # The whole chunk was appended before storing the file failed; the transaction that moved the offset
        # rolled back, so the offset (the truth) stays 1000 and the next append cuts the part back to it.
        after = {name: min(size, before.get(name, size)) for name, size in after.items()}
    assert after == before  # no staged chunk, no temporary or partial blob, the part cut back to 1000 bytes
    monkeypatch.setattr(blob_module, "_copy", real_copy)
    done = patch(client, officer, url, 1000, data[1000:])  # space freed: the same chunk goes through
    assert done.status_code == 204 and done.headers["Upload-Offset"] == "3000"
    sha = hashlib.sha256(data).hexdigest()
    assert (root / sha[:2] / sha[2:4] / sha).read_bytes() == data


def _officer(app, password_hash):
    from server.adapters.access_models import User
    from server.service.clock import utcnow
    from server.service.security import issue_token
    from tests.conftest import Account
    from server.domain.vocabulary import Role

    with app.extensions["cme"]["uow"].transaction() as unit:
        session = unit.session
        user = User(username="officer", display_name="Test officer", role=Role.OFFICER.value,
                    password_hash=password_hash, active=True, created_at=utcnow())
        session.add(user)
        unit.flush()
        return Account(user.id, "officer", Role.OFFICER, issue_token(unit, user).token)

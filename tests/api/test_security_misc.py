"""Security behaviour beyond the access matrix (DESIGN.md "Security model"; sync/PROTOCOL.md):

- sign-in throttling per username and per client address (password spraying), for sign-in and device enrolment;
- revocation that takes effect on the very next request (sign-out, a disabled account, a revoked or retired device);
- photo uploads of the wrong type, size or hash refused with the right problem and nothing kept;
- every operation that reads or writes case data leaves an audit entry naming the actor and the case, and the
  audit log holds no personal data;
- two input gaps: a term-dates file with no terms, and an enquiry dated in the future.
"""
from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, func, inspect, select, update

from server.adapters.access_models import ApiToken, AuditEntry, LoginAttempt, User
from server.adapters.blobs import FileBlobStore, blob_store_for
from server.adapters.db import normalise_url
from server.adapters.migrate import alembic_config, upgrade
from server.adapters.pg_blobs import upload_chunks
from server.adapters.upload_models import Upload
from server.app import create_app
from server.domain.school_days import TermDatesError, parse_term_dates
from server.service import security
from server.service.clock import utcnow
from sync.ops import MAX_PHOTO_BYTES
from tests.api.test_security_matrix import (  # noqa: F401  (`matrix` is the shared module-scoped fixture)
    EXTRA_POLICY, MARKER, POLICY, SPEC, SPEC_OPERATIONS, build_call, expected, matrix,
)
from tests.conftest import PG_DEFAULT, PASSWORD
from tests.helpers import CHILD, assign, create_case
from tests.sync_helpers import PROTOCOL, enrol, push, visit_op

PROBLEM = "application/problem+json"
TUS = {"Tus-Resumable": "1.0.0", **PROTOCOL}
OCTETS = "application/offset+octet-stream"


def problem_of(resp, status: int, code: str) -> dict:
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.content_type == PROBLEM
    body = resp.get_json()
    assert body["status"] == status and body["type"].endswith(f"/{code}"), body
    return body


@pytest.fixture(autouse=True)
def cheap_unknown_user_hash(monkeypatch):
    """Unknown usernames are checked against a dummy Argon2 hash (so timing does not reveal which exist); a cheap
    one keeps the spraying tests fast without changing what they check."""
    monkeypatch.setattr(security, "_DUMMY_HASH",
                        security.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("dummy"))


# --- sign-in throttling ------------------------------------------------------------------------------------------

def login(client, username: str, password: str, address: str = "127.0.0.1", **headers):
    return client.post("/api/auth/login", json={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address}, headers=headers)


def enrol_as(client, username: str, password: str, address: str = "127.0.0.1"):
    return client.post("/api/devices/enrol", json={"username": username, "password": password,
                                                     "device_name": "tablet"},
                       headers=PROTOCOL, environ_base={"REMOTE_ADDR": address})


def spray(client, n: int, address: str = "127.0.0.1", prefix: str = "nobody") -> None:
    """One wrong guess at each of n usernames from one address (no username reaches its own limit)."""
    for i in range(n):
        assert login(client, f"{prefix}.{i}", "Winter2026!", address).status_code == 401


def test_per_username_throttle_refuses_the_right_password_and_lifts_after_the_window(client, accounts, uow):
    for _ in range(security.LOGIN_MAX_FAILURES):
        problem_of(login(client, "officer", "wrong password!"), 401, "unauthenticated")
    locked = login(client, "officer", PASSWORD)
    problem = problem_of(locked, 429, "too-many-attempts")
    assert "token" not in problem
    assert 0 < int(locked.headers["Retry-After"]) <= security.LOGIN_WINDOW.total_seconds()
    problem_of(enrol_as(client, "officer", PASSWORD), 429, "too-many-attempts")  # enrolment: the same lock
    with uow.transaction() as unit:  # the failures age: 14 minutes ago
        unit.session.execute(update(LoginAttempt).values(at=utcnow() - timedelta(minutes=14)))
    still = login(client, "officer", PASSWORD)
    assert still.status_code == 429 and int(still.headers["Retry-After"]) <= 60  # lifts when they leave the window
    with uow.transaction() as unit:
        session = unit.session
        session.execute(update(LoginAttempt).values(at=utcnow() - security.LOGIN_WINDOW - timedelta(seconds=1)))
    assert login(client, "officer", PASSWORD).status_code == 200


def test_password_spraying_from_one_address_is_throttled(client, accounts):
    """One guess at each of many usernames never trips a per-username limit; the per-address limit does. The
    right password is refused too while the address is throttled; other addresses are unaffected."""
    spray(client, security.LOGIN_MAX_FAILURES_PER_ADDRESS, address="203.0.113.7")
    locked = login(client, "supervisor", PASSWORD, "203.0.113.7")
    problem = problem_of(locked, 429, "too-many-attempts")
    assert "address" in problem["detail"] and int(locked.headers["Retry-After"]) > 0
    problem_of(login(client, "nobody.new", "Winter2026!", "203.0.113.7"), 429, "too-many-attempts")
    assert login(client, "supervisor", PASSWORD, "198.51.100.1").status_code == 200  # another address


def test_spraying_counts_every_attempt_below_the_limit(client, accounts):
    spray(client, security.LOGIN_MAX_FAILURES_PER_ADDRESS - 1, address="203.0.113.8")
    assert login(client, "supervisor", PASSWORD, "203.0.113.8").status_code == 200  # one short of the limit
    assert login(client, "nobody.last", "guess", "203.0.113.8").status_code == 401
    problem_of(login(client, "supervisor", PASSWORD, "203.0.113.8"), 429, "too-many-attempts")


def test_enrolment_goes_through_the_same_throttle(client, accounts, uow):
    """PROTOCOL.md: "the login throttle applies" to POST /api/devices/enrol: its failures count towards the
    per-address limit, and a throttled address cannot enrol even with the right credentials."""
    for i in range(security.LOGIN_MAX_FAILURES_PER_ADDRESS):
        problem_of(enrol_as(client, f"ghost.{i}", "guess", "192.0.2.50"), 401, "unauthenticated")
    problem_of(enrol_as(client, "officer", PASSWORD, "192.0.2.50"), 429, "too-many-attempts")
    problem_of(login(client, "officer", PASSWORD, "192.0.2.50"), 429, "too-many-attempts")
    assert enrol_as(client, "officer", PASSWORD, "192.0.2.51").status_code == 201
    with uow.transaction() as unit:
        session = unit.session
        rows = session.execute(select(LoginAttempt.address, func.count()).group_by(LoginAttempt.address)).all()
    assert dict(rows) == {"192.0.2.50": security.LOGIN_MAX_FAILURES_PER_ADDRESS, "192.0.2.51": 1}


def test_enrolment_failures_count_per_username_too(client, accounts):
    for _ in range(security.LOGIN_MAX_FAILURES):
        assert enrol_as(client, "officer", "wrong password!").status_code == 401
    problem_of(enrol_as(client, "officer", PASSWORD), 429, "too-many-attempts")


def test_forwarded_for_is_ignored_unless_proxies_are_trusted(client, accounts):
    """A client must not dodge the per-address limit by sending X-Forwarded-For to a server it reaches directly."""
    for i in range(security.LOGIN_MAX_FAILURES_PER_ADDRESS):
        login(client, f"nobody.{i}", "guess", "203.0.113.9", **{"X-Forwarded-For": f"10.0.0.{i}"})
    problem_of(login(client, "supervisor", PASSWORD, "203.0.113.9", **{"X-Forwarded-For": "10.9.9.9"}), 429,
               "too-many-attempts")


def test_behind_a_trusted_proxy_the_forwarded_address_is_throttled(database_url, tmp_path, password_hash):
    """Behind a load balancer (TRUSTED_PROXIES=1) every request comes from the proxy: the limit then applies to
    the address the proxy forwards, so one sprayer does not lock every officer out."""
    app = create_app({"DATABASE_URL": database_url, "BLOB_DIR": str(tmp_path / "b"), "TESTING": True,
                      "TRUSTED_PROXIES": 1})
    try:
        with app.extensions["cme"]["uow"].transaction() as unit:
            session = unit.session
            session.add(User(username="lb.user", display_name="LB", role="officer", password_hash=password_hash,
                             active=True, created_at=utcnow()))
        client = app.test_client()
        for i in range(security.LOGIN_MAX_FAILURES_PER_ADDRESS):
            login(client, f"nobody.{i}", "guess", "10.0.0.1", **{"X-Forwarded-For": "198.51.100.66"})
        problem_of(login(client, "lb.user", PASSWORD, "10.0.0.1", **{"X-Forwarded-For": "198.51.100.66"}), 429,
                   "too-many-attempts")
        assert login(client, "lb.user", PASSWORD, "10.0.0.1", **{"X-Forwarded-For": "198.51.100.67"}).status_code \
            == 200
    finally:
        app.extensions["cme"]["engine"].dispose()


def test_the_cli_path_has_no_address_and_is_throttled_per_username_only(app, accounts, uow):
    """Outside a request (the CLI) there is no client address: attempts are kept without one."""
    with app.app_context(), uow.transaction() as session:
        assert security.login(session, "officer", "wrong password!") is None
    with uow.transaction() as unit:
        session = unit.session
        assert session.scalars(select(LoginAttempt.address)).all() == [None]


@pytest.mark.parametrize("url_kind", ["sqlite", "postgresql"])
def test_migration_0005_adds_and_removes_the_address(url_kind, tmp_path, pg_schema_factory):
    if url_kind == "postgresql":  # skips only locally without PostgreSQL (conftest.require_postgres)
        url = pg_schema_factory(os.environ.get("CME_TEST_DATABASE_URL") or PG_DEFAULT)
    else:
        url = f"sqlite:///{tmp_path / 'm.sqlite3'}"
        upgrade(url)

    def columns() -> tuple[set[str], set[str]]:
        engine = create_engine(normalise_url(url))
        try:
            found = inspect(engine)
            return ({c["name"] for c in found.get_columns("login_attempts")},
                    {i["name"] for i in found.get_indexes("login_attempts")})
        finally:
            engine.dispose()

    cols, indexes = columns()
    assert "address" in cols and "ix_login_attempts_address_at" in indexes
    command.downgrade(alembic_config(normalise_url(url)), "0004")
    cols, indexes = columns()
    assert "address" not in cols and "ix_login_attempts_address_at" not in indexes
    command.upgrade(alembic_config(normalise_url(url)), "head")
    assert "address" in columns()[0]


# --- revocation takes effect on the very next request --------------------------------------------------------

def test_sign_out_stops_that_token_at_once_and_no_other(client, accounts):
    first = login(client, "supervisor", PASSWORD).get_json()["token"]
    second = login(client, "supervisor", PASSWORD).get_json()["token"]
    h1, h2 = ({"Authorization": f"Bearer {t}"} for t in (first, second))
    assert client.get("/api/cases", headers=h1).status_code == 200
    assert client.post("/api/auth/logout", headers=h1).status_code == 204
    problem_of(client.get("/api/cases", headers=h1), 401, "unauthenticated")
    assert client.get("/api/cases", headers=h2).status_code == 200


def test_disabled_account_is_refused_at_once_and_its_tokens_stay_dead(client, accounts, uow):
    """PUT /api/users/{id}/active false: the account's next request is 401, device tokens included. Re-enabling
    the account does not revive tokens issued before it was disabled (a token taken from someone who was
    disabled for that reason must not work again): they sign in afresh."""
    admin, sup, officer = accounts["admin"], accounts["supervisor"], accounts["officer"]
    case = create_case(client, sup)
    assign(client, sup, case["id"], officer.id)
    device = enrol(client, "officer")
    signed_in = {"Authorization": f"Bearer {login(client, 'officer', PASSWORD).get_json()['token']}"}
    assert client.get(f"/api/cases/{case['id']}", headers=signed_in).status_code == 200
    assert client.put(f"/api/users/{officer.id}/active", json={"active": False},
                      headers=admin.headers).status_code == 200
    problem_of(client.get(f"/api/cases/{case['id']}", headers=officer.headers), 401, "unauthenticated")
    problem_of(client.get(f"/api/cases/{case['id']}", headers=signed_in), 401, "unauthenticated")
    # disabling retires the account's devices (issue 7 item 2): pull says so, the device hands in work and erases
    problem_of(client.get("/api/sync/pull", headers=device["headers"]), 403, "device-retired")
    problem_of(login(client, "officer", PASSWORD), 401, "unauthenticated")
    assert client.put(f"/api/users/{officer.id}/active", json={"active": True},
                      headers=admin.headers).status_code == 200
    problem_of(client.get(f"/api/cases/{case['id']}", headers=signed_in), 401, "unauthenticated")
    problem_of(client.get(f"/api/cases/{case['id']}", headers=officer.headers), 401, "unauthenticated")
    fresh = {"Authorization": f"Bearer {login(client, 'officer', PASSWORD).get_json()['token']}"}
    assert client.get(f"/api/cases/{case['id']}", headers=fresh).status_code == 200
    # the device stays retired: re-enabling the account does not bring a leaver's device back (enrol afresh)
    problem_of(client.get("/api/sync/pull", headers=device["headers"]), 403, "device-retired")


def test_revoked_device_is_told_at_its_next_contact_whatever_it_calls(client, accounts):
    sup = accounts["supervisor"]
    case = create_case(client, sup)
    assign(client, sup, case["id"], accounts["officer"].id)
    device = enrol(client, "officer")
    assert client.get("/api/sync/pull", headers=device["headers"]).status_code == 200
    assert client.post(f"/api/devices/{device['device_id']}/revoke", headers=sup.headers).status_code == 200
    h = device["headers"]
    calls = [
        client.get("/api/sync/pull", headers=h),
        client.post("/api/sync/push", json={"ops": [visit_op(case["id"])]}, headers=h),
        client.post("/api/sync/check", json={"digest": "0" * 64, "count": 0}, headers=h),
        client.post("/api/sync/goodbye", headers=h),
        client.post("/api/uploads", headers={**TUS, **h, "Upload-Length": "3",
                                             "Upload-Metadata": _metadata(hashlib.sha256(b"abc").hexdigest())}),
        client.get(f"/api/cases/{case['id']}", headers=h),
        client.post("/api/auth/logout", headers=h),
    ]
    for resp in calls:
        problem_of(resp, 403, "device-revoked")
    officer = client.get(f"/api/cases/{case['id']}", headers=accounts["officer"].headers)
    assert officer.status_code == 200  # the officer's own sign-in is not the device


def test_retired_device_pushes_but_may_not_pull_then_says_goodbye(client, accounts):
    sup = accounts["supervisor"]
    case = create_case(client, sup)
    assign(client, sup, case["id"], accounts["officer"].id)
    device = enrol(client, "officer")
    h = device["headers"]
    assert client.post(f"/api/devices/{device['device_id']}/retire", headers=sup.headers).status_code == 200
    problem_of(client.get("/api/sync/pull", headers=h), 403, "device-retired")
    problem_of(client.post("/api/sync/check", json={"digest": "0" * 64, "count": 0}, headers=h), 403,
               "device-retired")
    problem_of(client.get(f"/api/cases/{case['id']}", headers=h), 403, "device-retired")
    assert [r["status"] for r in push(client, device, [visit_op(case["id"])])] == ["applied"]
    data = b"evidence"
    made = client.post("/api/uploads", headers={**TUS, **h, "Upload-Length": str(len(data)),
                                                "Upload-Metadata": _metadata(hashlib.sha256(data).hexdigest())})
    assert made.status_code == 201  # pending photos travel too
    assert client.post("/api/sync/goodbye", headers=h).status_code == 204
    for resp in (client.get("/api/sync/pull", headers=h), client.post("/api/sync/push", json={"ops": [
            visit_op(case["id"])]}, headers=h)):
        problem_of(resp, 403, "device-revoked")  # wiped: told to erase, whatever it tries


def test_expired_token_is_refused(client, accounts, uow):
    sup = accounts["supervisor"]
    assert client.get("/api/cases", headers=sup.headers).status_code == 200
    with uow.transaction() as unit:
        session = unit.session
        session.execute(update(ApiToken).where(ApiToken.user_id == sup.id)
                        .values(expires_at=utcnow() - timedelta(seconds=1)))
    problem_of(client.get("/api/cases", headers=sup.headers), 401, "unauthenticated")


# --- photo uploads: wrong type, size or hash ------------------------------------------------------------------

def _b64(value: str | bytes) -> str:
    return base64.b64encode(value.encode() if isinstance(value, str) else value).decode()


def _metadata(sha256: str, content_type: str = "image/jpeg") -> str:
    return f"sha256 {_b64(sha256)},content_type {_b64(content_type)},filename {_b64('door.jpg')}"


class TestUploadRefusals:
    """Each refusal leaves nothing behind: no upload row where creation failed, no blob, no staged chunk, and a
    part that holds exactly what was accepted before. Both blob stores. (Status and offset for the simple cases
    are covered in tests/api/test_uploads_tus.py; these add what is kept.)"""

    @pytest.fixture(params=["filesystem", "database"])
    def app(self, request, database_url, tmp_path):
        app = create_app({"DATABASE_URL": database_url, "BLOB_DIR": str(tmp_path / "blobs"), "TESTING": True,
                          "BLOB_STORE": request.param})
        yield app
        if request.param == "database":
            blob_store_for(app).dispose()
        app.extensions["cme"]["engine"].dispose()

    def create(self, client, account, data: bytes, *, length: int | None = None, sha256: str | None = None,
               content_type: str = "image/jpeg"):
        return client.post("/api/uploads", headers={
            **TUS, **account.headers, "Upload-Length": str(len(data) if length is None else length),
            "Upload-Metadata": _metadata(sha256 or hashlib.sha256(data).hexdigest(), content_type)})

    def start(self, client, account, data: bytes, **kwargs) -> str:
        resp = self.create(client, account, data, **kwargs)
        assert resp.status_code == 201, resp.get_json()
        return resp.headers["Location"]

    def patch(self, client, account, url: str, offset: int, chunk: bytes, checksum: bytes | None = None, **kw):
        headers = {**TUS, **account.headers, "Upload-Offset": str(offset), "Content-Type": OCTETS,
                   **kw.pop("headers", {})}
        if checksum is not None:
            headers["Upload-Checksum"] = f"sha256 {_b64(checksum)}"
        return client.patch(url, headers=headers, **({"data": chunk} if chunk is not None else {}), **kw)

    def offset(self, client, account, url: str) -> int:
        return int(client.head(url, headers={**TUS, **account.headers}).headers["Upload-Offset"])

    @staticmethod
    def uploads(uow) -> int:
        with uow.transaction() as unit:
            session = unit.session
            return session.scalar(select(func.count()).select_from(Upload))

    @staticmethod
    def part(app, url: str) -> bytes | None:
        upload_id = url.rsplit("/", 1)[1]
        store = blob_store_for(app)
        if isinstance(store, FileBlobStore):
            path = store.uploads / f"{upload_id}.part"
            return path.read_bytes() if path.exists() else None
        with store.engine.connect() as conn:
            rows = conn.execute(select(upload_chunks.c.data).where(upload_chunks.c.upload_id == upload_id)
                                .order_by(upload_chunks.c.start)).scalars().all()
        return b"".join(rows) if rows else None

    @staticmethod
    def leftovers(app) -> list[str]:
        """Staged chunks, and stored blobs (by hash), anywhere in the store."""
        store = blob_store_for(app)
        staged = store.uploads if isinstance(store, FileBlobStore) else store.staging
        blobs = ([p.name for p in Path(app.config["BLOB_DIR"]).glob("??/??/*")]
                 if isinstance(store, FileBlobStore) else [])
        if not isinstance(store, FileBlobStore):
            from server.adapters.pg_blobs import blob_objects
            with store.engine.connect() as conn:
                blobs = conn.execute(select(blob_objects.c.sha256)).scalars().all()
        return sorted(p.name for p in staged.glob("*.chunk")) + sorted(blobs)

    def test_wrong_type_is_415_and_creates_nothing(self, app, client, accounts, uow):
        officer = accounts["officer"]
        for content_type in ("text/html", "image/svg+xml", "application/octet-stream", ""):
            resp = self.create(client, officer, b"<svg onload=alert(1)>", content_type=content_type)
            assert problem_of(resp, 415, "unsupported-media-type")["field"] == "content_type"
        assert self.uploads(uow) == 0 and self.leftovers(app) == []
        url = self.start(client, officer, b"abc")
        wrong_body = self.patch(client, officer, url, 0, b"abc", headers={"Content-Type": "text/plain"})
        problem_of(wrong_body, 415, "unsupported-media-type")
        assert self.offset(client, officer, url) == 0 and self.part(app, url) is None and self.leftovers(app) == []

    def test_declared_length_over_the_limit_is_413_and_creates_nothing(self, app, client, accounts, uow):
        resp = self.create(client, accounts["officer"], b"", length=MAX_PHOTO_BYTES + 1, sha256="a" * 64)
        assert problem_of(resp, 413, "upload-too-large")["field"] == "Upload-Length"
        zero = self.create(client, accounts["officer"], b"", length=0, sha256="a" * 64)
        problem_of(zero, 400, "bad-request")
        assert self.uploads(uow) == 0 and self.leftovers(app) == []

    def test_a_body_longer_than_the_upload_is_413_and_nothing_is_appended(self, app, client, accounts):
        officer, data = accounts["officer"], os.urandom(100)
        url = self.start(client, officer, data)
        assert self.patch(client, officer, url, 0, data[:60]).status_code == 204
        # Content-Length says it runs past Upload-Length: refused before a byte is read
        problem_of(self.patch(client, officer, url, 60, data[60:] + b"extra"), 413, "upload-too-large")
        # no Content-Length (chunked): refused while streaming, once it passes the remaining 40 bytes
        streamed = self.patch(client, officer, url, 60, None, input_stream=io.BytesIO(data[60:] + b"extra"),
                              headers={"Transfer-Encoding": "chunked"},
                              environ_overrides={"wsgi.input_terminated": True})
        problem_of(streamed, 413, "upload-too-large")
        assert self.offset(client, officer, url) == 60 and self.part(app, url) == data[:60]
        assert self.leftovers(app) == []
        assert self.patch(client, officer, url, 60, data[60:]).status_code == 204  # the right bytes still fit
        assert self.leftovers(app) == [hashlib.sha256(data).hexdigest()]

    def test_chunk_checksum_mismatch_is_460_and_the_part_keeps_only_what_was_accepted(self, app, client,
                                                                                        accounts):
        officer, data = accounts["officer"], os.urandom(3000)
        url = self.start(client, officer, data)
        good = self.patch(client, officer, url, 0, data[:1000], checksum=hashlib.sha256(data[:1000]).digest())
        assert good.status_code == 204
        bad = self.patch(client, officer, url, 1000, data[1000:], checksum=hashlib.sha256(b"other").digest())
        assert problem_of(bad, 460, "checksum-mismatch")["field"] == "Upload-Checksum"
        assert self.offset(client, officer, url) == 1000 and self.part(app, url) == data[:1000]
        assert self.leftovers(app) == []  # the last chunk failed its checksum: no blob was made of it
        corrupted = bytes([data[1000] ^ 1]) + data[1001:]  # a flipped bit, with the checksum of the good bytes
        bad = self.patch(client, officer, url, 1000, corrupted, checksum=hashlib.sha256(data[1000:]).digest())
        problem_of(bad, 460, "checksum-mismatch")
        assert self.part(app, url) == data[:1000] and self.leftovers(app) == []

    def test_whole_file_hash_mismatch_is_422_and_discards_everything(self, app, client, accounts, uow):
        officer, data = accounts["officer"], os.urandom(2000)
        declared = hashlib.sha256(b"a different photo").hexdigest()
        url = self.start(client, officer, data, sha256=declared)
        assert self.patch(client, officer, url, 0, data[:1500]).status_code == 204
        last = self.patch(client, officer, url, 1500, data[1500:], checksum=hashlib.sha256(data[1500:]).digest())
        assert problem_of(last, 422, "invalid-input")["field"] == "sha256"
        assert self.part(app, url) is None and self.leftovers(app) == [] and self.uploads(uow) == 0
        assert client.head(url, headers={**TUS, **officer.headers}).status_code == 404
        problem_of(self.patch(client, officer, url, 1500, data[1500:]), 404, "not-found")


# --- audit completeness ---------------------------------------------------------------------------------------

def _resolve(schema, components: dict, seen: frozenset = frozenset()):
    if isinstance(schema, dict) and "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        return (None, name) if name in seen else (components.get(name, {}), name)
    return schema, None


def _names_a_case(schema, components: dict, seen: frozenset = frozenset()) -> bool:
    """Whether a schema (or anything nested in it) carries a case: a `case_id`, or a case or snapshot itself."""
    schema, name = _resolve(schema, components, seen)
    if schema is None:
        return False
    if name in ("Case", "CaseSnapshot"):
        return True
    seen = seen | ({name} if name else set())
    props = schema.get("properties") or {}
    if "case_id" in props:
        return True
    nested = [*props.values(), schema.get("items"), schema.get("additionalProperties"),
              *(schema.get("allOf") or []), *(schema.get("oneOf") or []), *(schema.get("anyOf") or [])]
    return any(isinstance(s, dict) and _names_a_case(s, components, seen) for s in nested)


def _bodies(operation: dict) -> list[dict]:
    out = [c.get("schema") for c in (operation.get("requestBody") or {}).get("content", {}).values()]
    for status, response in operation.get("responses", {}).items():
        if status.startswith("2"):
            out += [c.get("schema") for c in (response.get("content") or {}).values()]
    return [s for s in out if s]


def case_data_operations() -> set[tuple[str, str]]:
    """From the spec: operations on a path with a case id, or whose request or success response carries a case."""
    components = SPEC["components"]["schemas"]
    return {(m, p) for m, p in SPEC_OPERATIONS
            if "{case_id}" in p or any(_names_a_case(s, components) for s in _bodies(SPEC["paths"][p][m.lower()]))}


# Operations the spec shows carrying case ids that are not themselves reads or writes of case data.
NOT_CASE_DATA = {
    ("GET", "/api/audit"): "the audit log itself: ids and action names only (reading it is not audited)",
}
# Routes outside the spec that read case data.
AUDITED_EXTRA = [("GET", "/api/photos/{photo_id}")]


def test_case_data_operations_are_derived_from_the_spec():
    found = case_data_operations()
    for op in (("GET", "/api/cases"), ("GET", "/api/sync/pull"), ("POST", "/api/sync/push"),
               ("POST", "/api/referrals"), ("GET", "/api/actions"), ("GET", "/api/review")):
        assert op in found, op
    assert ("GET", "/api/users") not in found and ("GET", "/api/calendar/term-dates") not in found
    assert set(NOT_CASE_DATA) <= found


AUDITED = sorted(case_data_operations() - set(NOT_CASE_DATA)) + AUDITED_EXTRA


def _succeeding(rule) -> tuple[str, str]:
    principals = ("device",) if rule.kind == "sync" else ("officer", "supervisor", "admin", "referrer")
    objects = [o for o in rule.objects if o in ("A", "-")]
    for principal in principals:
        for obj in sorted(objects, key=lambda o: o != "A"):
            if expected(rule, principal, obj)[0] < 300:
                return principal, obj
    raise AssertionError("nobody may call this")


@pytest.mark.parametrize(("method", "path"), AUDITED, ids=[f"{m} {p}" for m, p in AUDITED])
def test_case_data_access_is_audited_with_actor_and_case(matrix, method, path):
    """DESIGN.md: "an append-only audit log of reads and writes of case data (who, device, when, what)"."""
    rule = POLICY.get((method, path)) or EXTRA_POLICY[(method, path)]
    principal, obj = _succeeding(rule)
    call = build_call(matrix, method, path, principal, obj)  # may make objects (a photo) first
    world = matrix.current()
    with matrix.uow.transaction() as unit:
        session = unit.session
        before = session.scalar(select(func.max(AuditEntry.id))) or 0
    started = datetime.now(UTC) - timedelta(seconds=2)
    resp = matrix.client.open(call.path, method=method, json=call.json, query_string=call.query,
                              headers={**call.headers, "Authorization": f"Bearer {world.tokens[principal]}"})
    assert resp.status_code < 300, resp.get_data(as_text=True)
    body = resp.get_json(silent=True) or {}
    target = world.case["A"] if obj == "A" or method == "GET" or "sync" in path else None
    if target is None:  # a new case: the receipt or the created case names it
        target = body.get("case_id") or body.get("id")
    with matrix.uow.transaction() as unit:
        session = unit.session
        entries = session.scalars(select(AuditEntry).where(AuditEntry.id > before)).all()
    actor = matrix.accounts["officer" if principal == "device" else principal].id
    mine = [e for e in entries if e.actor_id == actor and e.case_id == target]
    assert mine, f"no audit entry for {method} {path} by {principal} on case {target}: " \
                 f"{[(e.action, e.actor_id, e.case_id) for e in entries]}"
    for entry in mine:
        assert re.fullmatch(r"[a-z_]+\.[a-z_]+", entry.action)
        assert entry.at >= started
        assert entry.device_id == (world.device["A"] if principal == "device" else None)
    if rule.consumes:
        matrix.consumed()


def test_audit_lines_hold_no_personal_data(matrix, client, accounts):
    """Whatever was written through the API (names, addresses, phone numbers, notes), the log holds ids, action
    names and short codes only."""
    sup, officer = accounts["supervisor"], accounts["officer"]
    case = create_case(client, sup)
    assign(client, sup, case["id"], officer.id)
    secret = "Marigold Quillfeather, 07700 900123, 14 Nowhere Crescent"
    calls = [
        client.patch(f"/api/cases/{case['id']}", json={"current_address": {"line1": "3 Lantern Row",
                                                                           "postcode": "ZZ9 9ZZ"}},
                     headers={**sup.headers, "If-Match": f'"{case["version"] + 1}"'}),
        client.post(f"/api/cases/{case['id']}/enquiries", json={"kind": "home_visit", "outcome": "no_answer",
                                                                "notes": secret, "person_spoken_to": secret},
                    headers=officer.headers),
        client.post("/api/referrals", json={"case_id": case["id"], "source": "public", "route": "phone",
                                            "situation": "in_area_without_place", "details": secret,
                                            "referrer_name": secret}, headers=sup.headers),
    ]
    assert [c.status_code for c in calls] == [200, 201, 201], [c.get_json() for c in calls]
    device = enrol(client, "officer")
    push(client, device, [visit_op(case["id"], notes=secret)])
    personal = [*secret.split(", "), "Zebedee", "Quillfeather", "Lantern Row", "ZZ9 9ZZ", "Fictown",
                CHILD["carers"][0]["name"], *MARKER.values(), "Newchild"]
    for app_client, reader in ((client, accounts["admin"]), (matrix.client, None)):
        if reader is not None:
            entries = app_client.get("/api/audit?page_size=100", headers=reader.headers).get_json()
        else:  # the log of the audit-completeness calls above (every case-data operation, on its own app)
            with matrix.uow.transaction() as unit:
                session = unit.session
                entries = [{"action": e.action, "detail": e.detail}
                           for e in session.scalars(select(AuditEntry))]
        assert entries
        text = json.dumps(entries).lower()
        assert [p for p in personal if p.lower() in text] == []
        for entry in entries:
            # short codes, or the names of the fields an update changed (issue 7 item 3), never values
            assert entry["detail"] is None or re.fullmatch(r"[a-z0-9_:.,+-]{1,200}", entry["detail"]), entry


# --- input gaps: term dates with no terms, enquiries in the future -----------------------------------------------

HEADER = "academic_year,name,start,end\n"
TERMS_2026 = HEADER + "2026-27,Autumn 1,2026-09-02,2026-10-23\n"


@pytest.mark.parametrize(("fmt", "content", "field"), [
    ("csv", HEADER, "terms"),
    ("csv", HEADER + "\n,,,\n", "terms"),  # blank lines only
    ("json", json.dumps({"academic_year": "2026-27", "terms": []}), "terms"),
    ("json", json.dumps({"academic_year": "2026-27", "terms": [], "closures": []}), "terms"),
    ("json", json.dumps([]), "terms"),
    ("json", json.dumps([{"academic_year": "2026-27", "terms": [
        {"name": "Autumn 1", "start": "2026-09-02", "end": "2026-10-23"}]},
        {"academic_year": "2027-28", "terms": []}]), "[1].terms"),
])
def test_term_dates_with_no_terms_are_refused(client, accounts, fmt, content, field):
    """A load replaces the years it names; a file with no terms loads nothing and is a mistake: 422 on the field,
    and what was loaded before stays."""
    admin = accounts["admin"]
    assert client.put("/api/calendar/term-dates", json={"format": "csv", "content": TERMS_2026},
                      headers=admin.headers).status_code == 200
    resp = client.put("/api/calendar/term-dates", json={"format": fmt, "content": content}, headers=admin.headers)
    problem = problem_of(resp, 422, "invalid-term-dates")
    assert problem["field"] == field and "no terms" in problem["detail"]
    loaded = client.get("/api/calendar/term-dates", headers=admin.headers).get_json()
    assert [(t["academic_year"], t["name"]) for t in loaded] == [("2026-27", "Autumn 1")]
    with pytest.raises(TermDatesError) as raised:
        parse_term_dates(content, fmt)
    assert raised.value.field == field


def test_a_year_of_closures_alone_is_still_accepted():
    """Closures without terms for a year load something (they mark days closed), so they are not refused."""
    text = json.dumps({"academic_year": "2026-27", "terms": [], "closures": [{"date": "2026-09-07"}]})
    assert [t.name for t in parse_term_dates(text, "json")] == ["closure: closed"]


@pytest.mark.parametrize(("offset", "status"), [
    (timedelta(minutes=11), 422), (timedelta(days=400), 422),
    (timedelta(minutes=5), 201), (timedelta(0), 201), (-timedelta(days=3), 201),
])
def test_enquiry_in_the_future_is_refused(client, accounts, offset, status):
    """An enquiry recorded through the API cannot have happened more than 10 minutes from now (clock skew)."""
    sup = accounts["supervisor"]
    case = create_case(client, sup)
    when = (datetime.now(UTC) + offset).isoformat()
    resp = client.post(f"/api/cases/{case['id']}/enquiries", json={"kind": "home_visit", "outcome": "no_answer",
                                                                   "occurred_at": when}, headers=sup.headers)
    if status == 422:
        assert problem_of(resp, 422, "invalid-input")["field"] == "occurred_at"
        assert client.get(f"/api/cases/{case['id']}/enquiries", headers=sup.headers).get_json() == []
    else:
        assert resp.status_code == 201, resp.get_json()


# --- input the database cannot hold (found by the stateful run on PostgreSQL) ------------------------------------

@pytest.mark.parametrize(("method", "url", "body", "field"), [
    ("POST", "/api/auth/login", {"username": "officer\x00", "password": "x"}, "username"),
    ("POST", "/api/devices/enrol", {"username": "officer", "password": "p\x00", "device_name": "t"}, "password"),
    ("POST", "/api/cases", {**CHILD, "first_name": "Ze\x00bedee"}, "first_name"),
    ("POST", "/api/cases", {**CHILD, "carers": [{"name": "M\x00", "relationship": "mother"}]}, "carers.0.name"),
    ("GET", "/api/cases?reference=CME\x00", None, "reference"),
    ("PUT", "/api/calendar/term-dates", {"format": "csv", "content": TERMS_2026 + "\x00"}, "content"),
])
def test_nul_characters_are_refused_on_their_field(client, accounts, method, url, body, field):
    """PostgreSQL text cannot hold U+0000: before, these were 500s there (and a NUL username broke sign-in)."""
    headers = {**accounts["admin"].headers, **PROTOCOL}
    resp = client.open(url, method=method, json=body, headers=headers)
    problem = problem_of(resp, 422, "invalid-input")
    assert problem["field"] == field and "NUL" in problem["detail"]


def test_json_nested_too_deeply_is_a_malformed_body(client, accounts):
    """Deeply nested JSON exhausted the parser's stack: a 500 on every JSON endpoint, push included."""
    for depth in (40, 5000):
        body = "[" * depth + "]" * depth
        for url in ("/api/cases", "/api/sync/push"):
            resp = client.post(url, data=body, content_type="application/json",
                               headers={**accounts["supervisor"].headers, **PROTOCOL})
            problem_of(resp, 400, "malformed-body")
    ok = client.post("/api/cases", json={**CHILD, "current_address": {**CHILD["current_address"]}},
                     headers=accounts["supervisor"].headers)
    assert ok.status_code == 201


# --- one bad op in a push is kept for review, never a 500 (found by the stateful run) ---


def _push_with_a_bad_op(client, accounts, bad: dict) -> list[dict]:
    sup = accounts["supervisor"]
    case = create_case(client, sup)
    assign(client, sup, case["id"], accounts["officer"].id)
    device = enrol(client, "officer")
    good = visit_op(case["id"])
    bad = {**visit_op(case["id"]), **bad}
    resp = client.post("/api/sync/push", json={"ops": [bad, good]}, headers=device["headers"])
    assert resp.status_code == 200, resp.get_data(as_text=True)  # principle 3: one bad op never blocks the rest
    return resp.get_json()["results"]


def test_push_op_with_nul_text_is_kept_for_review(client, accounts):
    """A NUL in an op's text cannot be stored on PostgreSQL: the op is kept for review as invalid, the next
    one applied (on SQLite it is stored today, which the register must not rely on either)."""
    ops = _push_with_a_bad_op(client, accounts, {"payload": {"visited_at": datetime.now(UTC).isoformat(),
                                                             "outcome": "no_answer", "notes": "a\x00b"}})
    assert [(r["status"], r.get("reason")) for r in ops] == [("quarantined", "invalid"), ("applied", None)]


def test_push_op_with_huge_case_id_is_kept_for_review(client, accounts):
    """A case id beyond what the database holds (ids fit 2**53) is not a case: kept for review, never a 500."""
    ops = _push_with_a_bad_op(client, accounts, {"case_id": 2**70})
    assert ops[0]["status"] == "quarantined" and ops[1]["status"] == "applied"

"""DESIGN "Storage and scale": several instances on one database, photos in that database (BLOB_STORE=database),
no shared disk. An upload begun on one instance is continued on another, and the photo is read back from the
first; on SQLite (one file, two apps) and on PostgreSQL."""
from __future__ import annotations

import hashlib
import os
import uuid

import pytest
from sqlalchemy import select

from server.adapters.blobs import blob_store_for
from server.adapters.migrate import upgrade
from server.adapters.pg_blobs import upload_chunks
from server.app import create_app
from server.domain.vocabulary import Role
from server.service import uploads
from server.service.security import authenticate
from tests.api.test_uploads_tus import TUS, head, patch, start
from tests.conftest import PG_DEFAULT, Account
from tests.helpers import assign, create_case


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_url(request, tmp_path) -> str:
    if request.param == "postgresql":
        return request.getfixturevalue("pg_schema_factory")(os.environ.get("CME_TEST_DATABASE_URL") or PG_DEFAULT)
    url = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    upgrade(url)
    return url


@pytest.fixture
def instances(shared_url, tmp_path):
    """Two apps on one database, each with a disk of its own."""
    apps = [create_app({"DATABASE_URL": shared_url, "BLOB_STORE": "database", "TESTING": True,
                        "BLOB_DIR": str(tmp_path / name)}) for name in ("a", "b")]
    yield apps
    for app in apps:
        blob_store_for(app).dispose()
        app.extensions["cme"]["engine"].dispose()


def _accounts(app, password_hash) -> dict[str, Account]:
    from server.adapters.access_models import User
    from server.service.clock import utcnow
    from server.service.security import issue_token

    out = {}
    with app.extensions["cme"]["uow"].transaction() as unit:
        session = unit.session
        for name, role in (("sup", Role.SUPERVISOR), ("officer", Role.OFFICER)):
            user = User(username=name, display_name=name, role=role.value, password_hash=password_hash,
                        active=True, created_at=utcnow())
            session.add(user)
            unit.flush()
            out[name] = Account(user.id, name, role, issue_token(unit, user).token)
    return out


def test_an_upload_begun_on_one_instance_finishes_on_another(instances, password_hash, tmp_path):
    app_a, app_b = instances
    a, b = app_a.test_client(), app_b.test_client()
    who = _accounts(app_a, password_hash)
    sup, officer = who["sup"], who["officer"]
    case = create_case(a, sup)
    assign(a, sup, case["id"], officer.id)
    enquiry = b.post(f"/api/cases/{case['id']}/enquiries", json={"kind": "home_visit", "outcome": "no_answer"},
                     headers=officer.headers).get_json()

    data = os.urandom(1_500_000)  # several database rows
    sha, cut = hashlib.sha256(data).hexdigest(), 600_001
    url = start(a, officer, data)
    assert patch(a, officer, url, 0, data[:cut]).headers["Upload-Offset"] == str(cut)
    assert head(b, officer, url).headers["Upload-Offset"] == str(cut)  # B sees where A left off
    done = patch(b, officer, url, cut, data[cut:])
    assert done.status_code == 204 and done.headers["Upload-Offset"] == str(len(data))
    assert "Upload-Expires" not in head(a, officer, url).headers  # complete, as seen from A

    with app_b.app_context(), app_b.extensions["cme"]["uow"].transaction() as session:
        photo = uploads.link_photo(session, authenticate(session, officer.token), enquiry_id=enquiry["id"],
                                   sha256=sha, size=len(data), content_type="image/jpeg", caption=None,
                                   op_id=str(uuid.uuid4()))
    got = a.get(f"/api/photos/{photo['id']}", headers=sup.headers)
    assert got.status_code == 200 and got.data == data

    # nothing lies on either instance's disk: the part went with completion, staged chunks with their PATCH
    assert [p for p in tmp_path.joinpath("a").rglob("*") if p.is_file()] == []
    assert [p for p in tmp_path.joinpath("b").rglob("*") if p.is_file()] == []
    with app_a.extensions["cme"]["engine"].connect() as conn:
        assert conn.scalars(select(upload_chunks.c.upload_id)).all() == []


def test_a_stale_patch_on_the_other_instance_is_refused(instances, password_hash):
    """Both instances got the same chunk (a client retrying after a timeout): one appends, the other is a 409."""
    app_a, app_b = instances
    a, b = app_a.test_client(), app_b.test_client()
    officer = _accounts(app_a, password_hash)["officer"]
    data = os.urandom(300_000)
    url = start(a, officer, data)
    assert patch(a, officer, url, 0, data[:1000]).status_code == 204
    assert patch(b, officer, url, 0, data[:1000]).status_code == 409
    assert patch(b, officer, url, 1000, data[1000:]).status_code == 204
    assert blob_store_for(app_a).size(hashlib.sha256(data).hexdigest()) == len(data)
    assert b.delete(url, headers={**TUS, **officer.headers}).status_code == 409  # finished: it is evidence

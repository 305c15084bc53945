"""DESIGN.md principle 5 on PostgreSQL: with concurrent writers committing out of order, a pulling device
never skips a change. Writers hold their transactions open for random moments after appending to the change
log; a reader pulls throughout; at the end the device holds every case at its final version."""
from __future__ import annotations

import os
import random
import threading
import time

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from server.app import create_app
from server.domain.access import Actor
from server.domain.vocabulary import Role
from tests.conftest import PG_DEFAULT
from tests.helpers import child
from tests.sync_helpers import enrol

WRITERS, WRITES_EACH, CASES = 6, 12, 60  # most cases change once or twice, so a skip shows


@pytest.fixture
def pg_app(pg_schema_factory, password_hash, tmp_path):
    url = pg_schema_factory(os.environ.get("CME_TEST_DATABASE_URL") or PG_DEFAULT)
    app = create_app({"DATABASE_URL": url, "BLOB_DIR": str(tmp_path)})
    yield app
    app.extensions["cme"]["engine"].dispose()


def _seed(app, password_hash) -> tuple[Actor, list[int]]:
    from datetime import date

    from server.adapters.access_models import User
    from server.service import assignments, cases
    from server.service.clock import utcnow

    with app.extensions["cme"]["uow"].transaction() as unit:
        s = unit.session
        users = {}
        for name, role in (("sup", Role.SUPERVISOR), ("officer", Role.OFFICER)):
            users[name] = User(username=name, display_name=name, role=role.value, password_hash=password_hash,
                               active=True, created_at=utcnow())
            s.add(users[name])
        unit.flush()
        sup = Actor(users["sup"].id, Role.SUPERVISOR)
        payload = {**child(), "dob": date(2016, 3, 14), "first_day_of_absence": None, "current_address": None,
                   "carers": []}
        ids = [cases.create_case(unit, sup, payload)["id"] for _ in range(CASES)]
        for cid in ids:
            assignments.assign(unit, sup, cid, users["officer"].id, None, None)
    return sup, ids


def _writer(app, sup: Actor, case_ids: list[int], seed: int) -> None:
    from server.service.enquiries import record_enquiry

    rng = random.Random(seed)
    uow = app.extensions["cme"]["uow"]
    for _ in range(WRITES_EACH):
        with uow.transaction() as s:
            record_enquiry(s, sup, rng.choice(case_ids), {"kind": "letter", "notes": "chase-up letter"})


@pytest.mark.postgres
def test_concurrent_writers_never_make_a_pull_skip_a_change(pg_app, password_hash):
    sup, case_ids = _seed(pg_app, password_hash)
    client = pg_app.test_client()
    device = enrol(client, "officer")  # the seeded users share the session's hashed test password
    held: dict[int, int] = {}
    cursor = None

    def pull_once() -> bool:
        nonlocal cursor
        query = {"limit": 100} | ({"cursor": cursor} if cursor else {})
        resp = client.get("/api/sync/pull", query_string=query, headers=device["headers"])
        assert resp.status_code == 200, resp.get_json()
        page = resp.get_json()
        for snap in page["cases"]:
            assert snap["version"] >= held.get(snap["id"], 0), "a case went back in time"
            held[snap["id"]] = snap["version"]
        cursor = page["cursor"]
        return page["more"]

    def linger(session: Session) -> None:  # commit out of order: hold the transaction open a moment
        time.sleep(random.random() * 0.01)

    event.listen(Session, "before_commit", linger)
    try:
        threads = [threading.Thread(target=_writer, args=(pg_app, sup, case_ids, i)) for i in range(WRITERS)]
        for t in threads:
            t.start()
        while any(t.is_alive() for t in threads):
            pull_once()
        for t in threads:
            t.join()
    finally:
        event.remove(Session, "before_commit", linger)
    while pull_once():
        pass
    pull_once()
    final = {cid: client.get(f"/api/cases/{cid}", headers=_sup_headers(pg_app, sup)).get_json()["version"]
             for cid in case_ids}
    assert held == final


def _sup_headers(app, sup: Actor) -> dict:
    from server.adapters.access_models import User
    from server.service.security import issue_token

    with app.extensions["cme"]["uow"].transaction() as unit:
        s = unit.session
        return {"Authorization": f"Bearer {issue_token(unit, s.get(User, sup.user_id)).token}"}


@pytest.mark.postgres
def test_a_change_committing_late_is_not_skipped(pg_app, password_hash):
    """The exact race: change A gets its number first but commits after change B. A pull in between must not
    move the cursor past A (the change-log lock makes B wait for A's commit)."""
    from server.service.enquiries import record_enquiry

    sup, case_ids = _seed(pg_app, password_hash)
    client = pg_app.test_client()
    device = enrol(client, "officer")
    first = client.get("/api/sync/pull", query_string={"limit": 500}, headers=device["headers"]).get_json()
    uow = pg_app.extensions["cme"]["uow"]
    a_written, release_a = threading.Event(), threading.Event()

    def slow_writer() -> None:
        with uow.transaction() as s:
            record_enquiry(s, sup, case_ids[0], {"kind": "letter"})
            a_written.set()
            release_a.wait(10)

    def quick_writer() -> None:
        with uow.transaction() as s:
            record_enquiry(s, sup, case_ids[1], {"kind": "letter"})

    a = threading.Thread(target=slow_writer)
    a.start()
    a_written.wait(10)
    b = threading.Thread(target=quick_writer)
    b.start()
    b.join(0.5)  # B commits now without the lock; with it, B waits for A
    middle = client.get("/api/sync/pull", query_string={"cursor": first["cursor"], "limit": 500},
                        headers=device["headers"]).get_json()
    release_a.set()
    a.join()
    b.join()
    last = client.get("/api/sync/pull", query_string={"cursor": middle["cursor"], "limit": 500},
                      headers=device["headers"]).get_json()
    got = {c["id"] for c in middle["cases"] + last["cases"]}
    assert {case_ids[0], case_ids[1]} <= got

"""Attack: existence oracles (issue 7 item 11). A device, or a referrer, must not learn what the register holds
from how it is refused or from what it is given:

- an op on a case that does not exist and one on a case assigned to someone else get the same answer;
- every refused attach_photo reads the same, whether the visit is missing, the file was never uploaded, or
  someone else uploaded it;
- a referral receipt is random: no case id, no reference, no count of the referrals before it.
The supervisor's review item keeps the real reason in each case.
"""
from __future__ import annotations

import hashlib
import os
import re
import uuid

import pytest
from alembic import command
from sqlalchemy import create_engine, text

from server.adapters.db import normalise_url
from server.adapters.migrate import alembic_config, upgrade
from tests.api.test_uploads_tus import create, patch
from tests.conftest import PG_DEFAULT
from tests.helpers import assign, child, create_case
from tests.sync_helpers import enrol, now, push, visit_op

RECEIPT = re.compile(r"CME-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}")
REFERRAL = {"source": "public", "route": "phone", "situation": "in_area_without_place"}


def review_items(client, sup) -> dict[str, dict]:
    return {i["op_id"]: i for i in client.get("/api/review", headers=sup.headers).get_json()}


def photo_op(case_id: int, visit_op_id: str, data: bytes) -> dict:
    return {"op_id": str(uuid.uuid4()), "kind": "attach_photo", "case_id": case_id, "device_time": now(),
            "payload": {"visit_op_id": visit_op_id, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data),
                        "content_type": "image/jpeg"}}


def upload(client, account, data: bytes) -> None:
    url = create(client, account, data).headers["Location"]
    assert patch(client, account, url, 0, data).status_code == 204


def test_op_on_a_missing_case_and_on_someone_elses_case_get_the_same_answer(client, accounts):
    sup, officer = accounts["supervisor"], accounts["officer"]
    elsewhere = create_case(client, sup, first_name="Elsewhere")
    assign(client, sup, elsewhere["id"], accounts["officer2"].id)
    device = enrol(client, "officer")
    real, missing = visit_op(elsewhere["id"]), visit_op(elsewhere["id"] + 1000)
    told_real, told_missing = push(client, device, [real, missing])
    strip = ("op_id", "case_id")
    assert {k: v for k, v in told_real.items() if k not in strip} == \
        {k: v for k, v in told_missing.items() if k not in strip}
    assert told_real["status"] == "quarantined" and told_real["reason"] == "out_of_scope"
    assert told_real["case_id"] == real["case_id"] and told_missing["case_id"] == missing["case_id"]  # echoed
    items = review_items(client, sup)  # the supervisor sees what really happened
    assert items[real["op_id"]]["reason"] == "out_of_scope" and items[real["op_id"]]["case_id"] == elsewhere["id"]
    assert items[missing["op_id"]]["reason"] == "unknown_case" and items[missing["op_id"]]["case_id"] is None
    again = push(client, device, [missing])[0]  # a repeat gets the same answer too
    assert again["status"] == "duplicate" and again["reason"] == "out_of_scope"


def test_attach_photo_refusals_read_the_same_whatever_the_cause(client, accounts):
    sup, officer, other = accounts["supervisor"], accounts["officer"], accounts["officer2"]
    case = create_case(client, sup)
    assign(client, sup, case["id"], officer.id)
    device = enrol(client, "officer")
    visit = visit_op(case["id"])
    assert push(client, device, [visit])[0]["status"] == "applied"
    theirs, never = b"\xff\xd8 someone else's photo", b"\xff\xd8 a photo nobody uploaded"
    upload(client, other, theirs)  # stored on the server, but not by this officer
    mine = b"\xff\xd8 my photo"
    upload(client, officer, mine)
    ops = {"someone else's upload": photo_op(case["id"], visit["op_id"], theirs),
           "never uploaded": photo_op(case["id"], visit["op_id"], never),
           "no such visit": photo_op(case["id"], str(uuid.uuid4()), mine)}
    told = dict(zip(ops, push(client, device, list(ops.values()))))
    assert {(r["status"], r["reason"], r["detail"], r["case_id"]) for r in told.values()} == \
        {("quarantined", "invalid", told["never uploaded"]["detail"], case["id"])}
    assert "sha256" not in told["never uploaded"]["detail"]
    items = review_items(client, sup)
    details = {why: items[op["op_id"]]["detail"] for why, op in ops.items()}
    assert len(set(details.values())) == 3, details  # the real reasons, kept apart for the supervisor
    assert "visit" in details["no such visit"] and "sha256" in details["never uploaded"]
    assert push(client, device, [photo_op(case["id"], visit["op_id"], mine)])[0]["status"] == "applied"


def test_referral_receipts_are_random_and_reveal_no_case(client, accounts):
    ref, sup = accounts["referrer"], accounts["supervisor"]
    receipts = []
    for i in range(3):
        resp = client.post("/api/referrals", json={**REFERRAL, "child": child(first_name=f"Child{i}")},
                           headers=ref.headers)
        assert resp.status_code == 201
        receipts.append(resp.get_json())
    for receipt in receipts:
        assert set(receipt) == {"receipt", "received_at"} and RECEIPT.fullmatch(receipt["receipt"])
    assert len({r["receipt"] for r in receipts}) == 3
    found = [client.get(f"/api/referrals?receipt={r['receipt'].lower()}", headers=sup.headers).get_json()
             for r in receipts]
    assert [len(f) for f in found] == [1, 1, 1]
    cases = [client.get(f"/api/cases/{f[0]['case_id']}", headers=sup.headers).get_json() for f in found]
    for receipt, case in zip(receipts, cases):  # nothing of the case's id or reference is in the receipt
        assert f"{case['id']:05d}" not in receipt["receipt"] and case["reference"] not in receipt["receipt"]
    assert client.get(f"/api/referrals?receipt={receipts[0]['receipt']}", headers=ref.headers).status_code == 403
    # an officer without the case is told nothing, as if there were no such receipt
    assert client.get(f"/api/referrals?receipt={receipts[0]['receipt']}",
                      headers=accounts["officer"].headers).get_json() == []
    bad = client.get("/api/referrals?receipt=CME-2026-00037", headers=sup.headers)
    assert bad.status_code == 422 and bad.get_json()["field"] == "receipt"


def test_staff_receipt_still_names_the_case(client, accounts):
    """Staff referring on the register's behalf may see it: they get the case id and reference as well."""
    resp = client.post("/api/referrals", json={**REFERRAL, "child": child()}, headers=accounts["supervisor"].headers)
    body = resp.get_json()
    assert RECEIPT.fullmatch(body["receipt"]) and body["case_id"] and body["case_reference"].startswith("CME-")
    listed = client.get(f"/api/cases/{body['case_id']}/referrals", headers=accounts["supervisor"].headers)
    assert listed.get_json()[0]["receipt"] == body["receipt"]


@pytest.mark.parametrize("url_kind", ["sqlite", "postgresql"])
def test_migration_0007_gives_existing_referrals_random_receipts(url_kind, tmp_path, pg_schema_factory):
    if url_kind == "postgresql":  # skips only locally without PostgreSQL (conftest.require_postgres)
        url = normalise_url(pg_schema_factory(os.environ.get("CME_TEST_DATABASE_URL") or PG_DEFAULT))
    else:
        url = f"sqlite:///{tmp_path / 'm.sqlite3'}"
        upgrade(url)
    command.downgrade(alembic_config(url), "0006")
    engine = create_engine(normalise_url(url))
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO cases (id, reference, version, status, created_at, updated_at, "
                              "first_name, last_name, dob, eal, fsm, sen_status, cp, cin, cic, risk_factors, "
                              "vulnerable_groups) VALUES (37, 'CME-2026-00037', 1, 'referred', '2026-01-05', "
                              "'2026-01-05', 'A', 'B', '2015-03-01', false, false, 'none', false, false, false, "
                              "'[]', '[]')"))
            for i in (1, 2):
                conn.execute(text("INSERT INTO referrals (id, case_id, source, route, situation, received_at) "
                                  f"VALUES ({i}, 37, 'public', 'phone', 'in_area_without_place', '2026-01-05')"))
        command.upgrade(alembic_config(url), "head")
        with engine.connect() as conn:
            got = conn.execute(text("SELECT receipt FROM referrals ORDER BY id")).scalars().all()
        assert len(set(got)) == 2 and all(RECEIPT.fullmatch(r) for r in got)
        command.downgrade(alembic_config(url), "0006")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM referrals")).scalar() == 2
        command.upgrade(alembic_config(url), "head")
    finally:
        engine.dispose()

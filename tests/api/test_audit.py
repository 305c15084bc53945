"""The audit log (DESIGN.md "Security model": "an append-only audit log of reads and writes of case data (who,
device, when, what)"; "every access audited").

Each read and write of a case appears exactly once, with the actor and the case; the log holds no personal data
(it is read by supervisors who may not be working the case); only supervisors and admins read it.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.helpers import CHILD, assign, create_case, transition

# Every personal string the test cases carry; none may ever appear in the audit log.
PERSONAL = ["Zebedee", "Quillfeather", "Nowhere Crescent", "Fictown", "ZZ1 1AA", "Marigold", "07700 900123",
            "Yolanda", "Ribbonwick", "Lantern Row", "ZZ9 9ZZ", "Fictown Primary"]


def audit_for(client, reader, case_id: int) -> list[tuple[str, int, int]]:
    resp = client.get(f"/api/audit?case_id={case_id}&page_size=100", headers=reader.headers)
    assert resp.status_code == 200
    return [(e["action"], e["actor_id"], e["case_id"]) for e in resp.get_json()]


def test_each_read_and_write_is_audited_once_with_actor_and_case(client, accounts):
    """DESIGN.md: every access to a case is logged, once, with who did it and which case."""
    sup, officer, admin = accounts["supervisor"], accounts["officer"], accounts["admin"]
    case = create_case(client, sup)
    cid = case["id"]
    other = create_case(client, sup, first_name="Yolanda", last_name="Ribbonwick")["id"]
    assign(client, sup, cid, officer.id)
    read = client.get(f"/api/cases/{cid}", headers=officer.headers)
    ok = [
        read,
        client.patch(f"/api/cases/{cid}", json={"contact_email": "contact@example.org"},  # an officer may
                     headers={**officer.headers, "If-Match": read.headers["ETag"]}),
        client.get("/api/cases", headers=officer.headers),  # the officer's list holds only this case
        transition(client, sup, cid, target="open"),
        client.post(f"/api/cases/{cid}/enquiries", json={"kind": "home_visit", "outcome": "no_answer",
                                                         "notice_left": True}, headers=officer.headers),
        client.get(f"/api/cases/{cid}/enquiries", headers=officer.headers),
        client.get(f"/api/cases/{cid}/referrals", headers=sup.headers),
        client.get("/api/cases", headers=sup.headers),  # the supervisor's list holds both cases
    ]
    assert [r.status_code for r in ok] == [200, 200, 200, 200, 201, 200, 200, 200], [r.get_json() for r in ok]
    assert audit_for(client, admin, cid) == [
        ("case.create", sup.id, cid),
        ("assignment.create", sup.id, cid),
        ("case.read", officer.id, cid),
        ("case.update", officer.id, cid),
        ("case.list", officer.id, cid),
        ("case.transition", sup.id, cid),
        ("enquiry.record", officer.id, cid),
        ("enquiry.list", officer.id, cid),
        ("referral.list", sup.id, cid),
        ("case.list", sup.id, cid),
    ]
    # the other case was created and listed by the supervisor, and touched by nobody else
    assert audit_for(client, admin, other) == [("case.create", sup.id, other), ("case.list", sup.id, other)]


def test_entries_carry_when_and_filter_by_actor_and_action(client, accounts):
    sup, admin = accounts["supervisor"], accounts["admin"]
    before = datetime.now(UTC) - timedelta(seconds=5)
    cid = create_case(client, sup)["id"]
    client.get(f"/api/cases/{cid}", headers=admin.headers)
    entries = client.get(f"/api/audit?case_id={cid}", headers=sup.headers).get_json()
    for entry in entries:
        at = datetime.fromisoformat(entry["at"])
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
        assert before <= at <= datetime.now(UTC) + timedelta(seconds=5)
        assert entry["device_id"] is None  # made over the web API, not from a field device
    by_admin = client.get(f"/api/audit?actor_id={admin.id}", headers=sup.headers).get_json()
    assert [(e["action"], e["case_id"]) for e in by_admin] == [("case.read", cid)]
    reads = client.get("/api/audit?action=case.read", headers=sup.headers).get_json()
    assert [(e["actor_id"], e["case_id"]) for e in reads] == [(admin.id, cid)]


def test_referral_submission_is_audited_without_personal_data(client, accounts):
    """A referral creates a case: the referrer's submission is logged against it, by id only."""
    ref, sup = accounts["referrer"], accounts["supervisor"]
    resp = client.post("/api/referrals", json={"child": CHILD, "source": "public", "route": "phone",
                                               "situation": "in_area_without_place",
                                               "referrer_name": "Yolanda Ribbonwick",
                                               "details": "seen at 3 Lantern Row, ZZ9 9ZZ"}, headers=ref.headers)
    assert resp.status_code == 201
    case_id = client.get("/api/cases", headers=sup.headers).get_json()[0]["id"]
    assert audit_for(client, sup, case_id)[0] == ("referral.submit", ref.id, case_id)


def test_audit_response_holds_no_personal_data(client, accounts):
    """DESIGN.md: least data; the audit log names ids and actions, never the child, carers or addresses."""
    sup, officer = accounts["supervisor"], accounts["officer"]
    cid = create_case(client, sup)["id"]
    assign(client, sup, cid, officer.id)
    writes = [
        client.patch(f"/api/cases/{cid}", json={"current_address": {"line1": "3 Lantern Row", "postcode": "ZZ9 9ZZ"},
                                                "first_name": "Yolanda", "last_name": "Ribbonwick"},
                     headers={**sup.headers, "If-Match": '"2"'}),
        client.post(f"/api/cases/{cid}/enquiries", json={"kind": "letter", "letter_type": "Zebedee Quillfeather",
                                                         "notes": "Marigold Quillfeather, 07700 900123"},
                    headers=officer.headers),
        client.post("/api/referrals", json={"child": CHILD, "source": "school", "route": "email",
                                            "situation": "left_school_no_forwarding_school",
                                            "details": "Zebedee left Fictown Primary"},
                    headers=accounts["referrer"].headers),
        client.get(f"/api/cases/{cid}", headers=officer.headers),
    ]
    assert [w.status_code for w in writes] == [200, 201, 201, 200]
    for reader in (sup, accounts["admin"]):
        resp = client.get("/api/audit?page_size=100", headers=reader.headers)
        assert len(resp.get_json()) >= 6
        text = resp.get_data(as_text=True).lower()
        assert [s for s in PERSONAL if s.lower() in text] == []


def test_reading_the_audit_log_is_not_itself_case_data(client, accounts):
    """Reading the log adds nothing to it (no case data is read), so the log does not grow by being read."""
    sup = accounts["supervisor"]
    create_case(client, sup)
    first = client.get("/api/audit?page_size=100", headers=sup.headers).get_json()
    second = client.get("/api/audit?page_size=100", headers=sup.headers).get_json()
    assert first == second


@pytest.mark.parametrize("role", ["officer", "referrer", "integration"])
def test_only_supervisors_and_admins_read_the_audit_log(client, accounts, role):
    """access.py GRANTS: READ_AUDIT is for supervisors (the CME lead, §5.6) and admins."""
    create_case(client, accounts["supervisor"])
    resp = client.get("/api/audit", headers=accounts[role].headers)
    assert resp.status_code == 403
    assert resp.content_type == "application/problem+json"
    assert resp.get_json()["rule"] == "role:read_audit"


def test_audit_log_is_append_only_over_http(client, accounts):
    """There is no way to change or delete an entry through the API."""
    admin = accounts["admin"]
    for method in ("PUT", "PATCH", "DELETE", "POST"):
        resp = client.open("/api/audit", method=method, json={}, headers=admin.headers)
        assert resp.status_code == 405, method
        assert resp.content_type == "application/problem+json"

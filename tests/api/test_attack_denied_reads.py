"""Attack: probing case data outside one's caseload (issue 7 item 17). Every refusal from the per-object check
is answered like a missing thing (404, or an empty answer) and audited as a denied read: who and which case."""
from __future__ import annotations

from tests.api.test_attack_accounts import audit, problem
from tests.api.test_attack_oracles import REFERRAL, photo_op, upload
from tests.helpers import assign, child, create_case
from tests.sync_helpers import enrol, push, visit_op


def denied(client, sup) -> list[tuple[int, int]]:
    return [(e["actor_id"], e["case_id"]) for e in audit(client, sup, action="case.denied")]


def test_officer_fetching_a_photo_of_someone_elses_case_is_audited_as_denied(client, accounts):
    sup, officer, other = accounts["supervisor"], accounts["officer"], accounts["officer2"]
    theirs = create_case(client, sup)
    assign(client, sup, theirs["id"], other.id)
    device = enrol(client, "officer2")
    visit, data = visit_op(theirs["id"]), b"\xff\xd8 a calling card"
    upload(client, other, data)
    results = push(client, device, [visit, photo_op(theirs["id"], visit["op_id"], data)])
    assert [r["status"] for r in results] == ["applied", "applied"]
    photo_id = results[1]["result"]["photo_id"]
    assert problem(client.get(f"/api/photos/{photo_id}", headers=officer.headers), 404, "not-found")[
        "detail"] == f"no photo {photo_id}"
    problem(client.get(f"/api/photos/{photo_id + 100}", headers=officer.headers), 404, "not-found")
    assert denied(client, sup) == [(officer.id, theirs["id"])]  # a photo that does not exist denies nothing
    assert client.get(f"/api/photos/{photo_id}", headers=other.headers).data == data


def test_officer_listing_or_acknowledging_alerts_of_someone_elses_case_is_audited_as_denied(client, accounts):
    sup, officer = accounts["supervisor"], accounts["officer"]
    theirs = create_case(client, sup, cp=True, social_worker="A. Worker")  # CP raises the §11.4 alert
    assign(client, sup, theirs["id"], accounts["officer2"].id)
    alert = client.get(f"/api/actions?case_id={theirs['id']}", headers=sup.headers).get_json()[0]
    problem(client.get(f"/api/actions?case_id={theirs['id']}", headers=officer.headers), 404, "not-found")
    resp = client.post(f"/api/actions/{alert['id']}/acknowledge", json={}, headers=officer.headers)
    assert problem(resp, 404, "not-found")["detail"] == f"no alert or task {alert['id']}"
    assert denied(client, sup) == [(officer.id, theirs["id"])] * 2
    still_open = client.get(f"/api/actions?case_id={theirs['id']}", headers=sup.headers).get_json()[0]
    assert still_open["acknowledged_at"] is None


def test_officer_looking_up_a_receipt_of_someone_elses_case_is_audited_as_denied(client, accounts):
    sup, officer = accounts["supervisor"], accounts["officer"]
    resp = client.post("/api/referrals", json={**REFERRAL, "child": child(first_name="Probed")},
                       headers=accounts["referrer"].headers)
    receipt = resp.get_json()["receipt"]
    case_id = client.get(f"/api/referrals?receipt={receipt}", headers=sup.headers).get_json()[0]["case_id"]
    assert client.get(f"/api/referrals?receipt={receipt}", headers=officer.headers).get_json() == []
    assert client.get("/api/referrals?receipt=CME-2222-2222", headers=officer.headers).get_json() == []
    assert denied(client, sup) == [(officer.id, case_id)]

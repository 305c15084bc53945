"""The sync endpoints over HTTP: enrolment, pull with scope and removals, idempotent push, device control."""
import base64
import hashlib
import uuid

from sync.cursor import holdings_digest
from tests.helpers import assign, create_case
from tests.sync_helpers import PROTOCOL, edit_op, enrol, pull_all, push, visit_op


def test_enrol_needs_protocol_and_an_officer(client, accounts):
    body = {"username": "officer", "password": "correct horse battery", "device_name": "t"}
    assert client.post("/api/devices/enrol", json=body).status_code == 400
    bad = client.post("/api/devices/enrol", json=body, headers={"CME-Sync-Protocol": "99"})
    assert bad.status_code == 400 and bad.get_json()["type"].endswith("/unsupported-protocol")
    sup = client.post("/api/devices/enrol", json={**body, "username": "supervisor"}, headers=PROTOCOL)
    assert sup.status_code == 403
    wrong = client.post("/api/devices/enrol", json={**body, "password": "nope"}, headers=PROTOCOL)
    assert wrong.status_code == 401


def test_pull_returns_scope_then_nothing_then_removal(client, accounts):
    sup, officer = accounts["supervisor"], accounts["officer"]
    mine, other = create_case(client, sup), create_case(client, sup, first_name="Other")
    a = assign(client, sup, mine["id"], officer.id)
    device = enrol(client, "officer")
    page, _ = pull_all(client, device)
    assert [c["id"] for c in page["cases"]] == [mine["id"]]
    assert page["cases"][0]["assignment"]["id"] == a["id"] and page["offline_ttl_seconds"] > 0
    again, _ = pull_all(client, device, page["cursor"])
    assert again["cases"] == [] and again["removed"] == []
    client.post(f"/api/assignments/{a['id']}/end", headers=sup.headers)
    gone, _ = pull_all(client, device, again["cursor"])
    assert gone["removed"] == [mine["id"]] and gone["cases"] == []
    assert other["id"] not in [c["id"] for c in page["cases"]]


def test_paged_pull_covers_every_case_once(client, accounts):
    sup, officer = accounts["supervisor"], accounts["officer"]
    ids = [create_case(client, sup, first_name=f"C{i}")["id"] for i in range(7)]
    for cid in ids:
        assign(client, sup, cid, officer.id)
    device = enrol(client, "officer")
    _, pages = pull_all(client, device, limit=3)
    seen = [c["id"] for p in pages for c in p["cases"]]
    assert sorted(seen) == ids and len(pages) >= 3


def test_push_is_idempotent_and_reports_clash(client, accounts):
    sup, officer = accounts["supervisor"], accounts["officer"]
    case = create_case(client, sup)
    assign(client, sup, case["id"], officer.id)
    device = enrol(client, "officer")
    op = visit_op(case["id"], "child_seen", notes="Seen at the door")
    first = push(client, device, [op])[0]
    assert first["status"] == "applied" and first["result"]["enquiry_id"]
    again = push(client, device, [op])[0]
    assert again["status"] == "duplicate" and again["result"]["enquiry_id"] == first["result"]["enquiry_id"]
    clash = push(client, device, [{**op, "payload": {**op["payload"], "notes": "other"}}])[0]
    assert clash["status"] == "clash"
    enquiries = client.get(f"/api/cases/{case['id']}/enquiries", headers=sup.headers).get_json()
    assert len(enquiries) == 1 and enquiries[0]["op_id"] == op["op_id"]


def test_bad_ops_are_quarantined_without_blocking_the_rest(client, accounts):
    sup, officer = accounts["supervisor"], accounts["officer"]
    case = create_case(client, sup)
    unassigned = create_case(client, sup, first_name="Unassigned")
    assign(client, sup, case["id"], officer.id)
    device = enrol(client, "officer")
    ops = [visit_op(case["id"], "not_an_outcome"), {**visit_op(case["id"]), "kind": "teleport"},
           visit_op(unassigned["id"]), visit_op(999999), visit_op(case["id"])]
    results = push(client, device, ops)
    assert [r["status"] for r in results] == ["quarantined"] * 4 + ["applied"]
    # one answer whether the case exists or not (issue 7 item 11); the supervisor sees the real reason
    assert [r["reason"] for r in results[:4]] == ["invalid", "unknown_kind", "out_of_scope", "out_of_scope"]
    queue = client.get("/api/review", headers=sup.headers).get_json()
    assert sorted(i["op_id"] for i in queue) == sorted(o["op_id"] for o in ops[:4])
    assert {i["op_id"]: i["reason"] for i in queue}[ops[3]["op_id"]] == "unknown_case"


def test_soft_and_hard_conflicts_reach_the_review_queue(client, accounts):
    sup, officer = accounts["supervisor"], accounts["officer"]
    case = create_case(client, sup)
    assign(client, sup, case["id"], officer.id)
    device = enrol(client, "officer")
    page, _ = pull_all(client, device)
    base = page["cases"][0]["version"]
    url = f"/api/cases/{case['id']}"
    version = client.get(url, headers=sup.headers).headers["ETag"]
    client.patch(url, json={"contact_phone": "01632 960999", "gender": "female"},
                 headers={**sup.headers, "If-Match": version})
    soft, hard = push(client, device, [edit_op(case["id"], base, {"contact_email": "family@example.org"}),
                                       edit_op(case["id"], base, {"contact_phone": "01632 960111"})])
    assert soft["status"] == "conflict_soft" and hard["status"] == "conflict_hard"
    assert hard["hard_fields"] == {"contact_phone": ["01632 960999", "01632 960111"]}
    items = {i["category"]: i for i in client.get("/api/review", headers=sup.headers).get_json()}
    assert items["conflict_hard"]["values"] == {"contact_phone": ["01632 960999", "01632 960111"]}
    resolved = client.post(f"/api/review/{items['conflict_hard']['id']}/resolve",
                           json={"decision": "pick", "choices": {"contact_phone": "device"}}, headers=sup.headers)
    assert resolved.status_code == 200
    assert client.get(url, headers=sup.headers).get_json()["contact_phone"] == "01632 960111"


def test_check_detects_a_mismatch_and_orders_resync(client, accounts):
    sup, officer = accounts["supervisor"], accounts["officer"]
    case = create_case(client, sup)
    assign(client, sup, case["id"], officer.id)
    device = enrol(client, "officer")
    page, _ = pull_all(client, device)
    held = [(c["id"], c["version"]) for c in page["cases"]]
    ok = client.post("/api/sync/check", json={"digest": holdings_digest(held), "count": 1}, headers=device["headers"])
    assert ok.get_json() == {"match": True, "server_count": 1, "resync": False}
    bad = client.post("/api/sync/check", json={"digest": holdings_digest([]), "count": 0}, headers=device["headers"])
    assert bad.get_json()["resync"] is True
    after = client.get("/api/sync/pull", query_string={"cursor": page["cursor"]}, headers=device["headers"])
    assert after.get_json()["resync"] is True


def test_revoked_device_is_told_to_erase(client, accounts):
    sup = accounts["supervisor"]
    device = enrol(client, "officer")
    assert client.post(f"/api/devices/{device['device_id']}/revoke", headers=sup.headers).status_code == 200
    resp = client.get("/api/sync/pull", headers=device["headers"])
    assert resp.status_code == 403 and resp.get_json()["type"].endswith("/device-revoked")


def test_retired_device_may_push_then_says_goodbye(client, accounts):
    sup, officer = accounts["supervisor"], accounts["officer"]
    case = create_case(client, sup)
    assign(client, sup, case["id"], officer.id)
    device = enrol(client, "officer")
    client.post(f"/api/devices/{device['device_id']}/retire", headers=sup.headers)
    pulled = client.get("/api/sync/pull", headers=device["headers"])
    assert pulled.status_code == 403 and pulled.get_json()["type"].endswith("/device-retired")
    assert push(client, device, [visit_op(case["id"])])[0]["status"] == "applied"
    assert client.post("/api/sync/goodbye", headers=device["headers"]).status_code == 204
    assert client.get("/api/sync/pull", headers=device["headers"]).status_code in (401, 403)
    listed = client.get("/api/devices", headers=sup.headers).get_json()
    assert listed[0]["status"] == "wiped"


def test_an_edit_after_the_devices_own_visit_is_not_a_conflict(client, accounts):
    sup, officer = accounts["supervisor"], accounts["officer"]
    case = create_case(client, sup)
    assign(client, sup, case["id"], officer.id)
    device = enrol(client, "officer")
    base = pull_all(client, device)[0]["cases"][0]["version"]
    visit, edit = push(client, device, [visit_op(case["id"]), edit_op(case["id"], base,
                                                                      {"contact_phone": "01632 960222"})])
    assert visit["status"] == "applied" and edit["status"] == "applied"


def test_closing_a_case_ends_its_assignments_and_removes_it_from_devices(client, accounts):
    sup, officer = accounts["supervisor"], accounts["officer"]
    case = create_case(client, sup)
    assign(client, sup, case["id"], officer.id)
    device = enrol(client, "officer")
    page, _ = pull_all(client, device)
    client.post(f"/api/cases/{case['id']}/transitions", json={"target": "open"}, headers=sup.headers)
    closed = client.post(f"/api/cases/{case['id']}/transitions", headers=sup.headers, json={
        "target": "closed", "closure": {"reason": "on_roll_at_school", "school_name": "Fictown Academy",
                                        "on_roll_date": "2026-11-02"}})
    assert closed.status_code == 200 and closed.get_json()["assignments"] == []
    after, _ = pull_all(client, device, page["cursor"])
    assert after["removed"] == [case["id"]]


def test_enquiries_list_their_photos(client, accounts):
    sup, officer = accounts["supervisor"], accounts["officer"]
    case = create_case(client, sup)
    assign(client, sup, case["id"], officer.id)
    device = enrol(client, "officer")
    visit = visit_op(case["id"])
    push(client, device, [visit])
    data = b"a photo of a notice left at the door" * 100
    digest = hashlib.sha256(data).hexdigest()
    meta = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in
                    (("sha256", digest), ("content_type", "image/jpeg"), ("filename", "n.jpg")))
    tus = {**device["headers"], "Tus-Resumable": "1.0.0"}
    created = client.post("/api/uploads", headers={**tus, "Upload-Length": str(len(data)), "Upload-Metadata": meta})
    client.patch(created.headers["Location"], data=data, headers={
        **tus, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
    attach = {"op_id": str(uuid.uuid4()), "kind": "attach_photo", "case_id": case["id"],
              "device_time": visit["device_time"], "payload": {"visit_op_id": visit["op_id"], "sha256": digest,
                                                               "size": len(data), "content_type": "image/jpeg"}}
    assert push(client, device, [attach])[0]["status"] == "applied"
    listed = client.get(f"/api/cases/{case['id']}/enquiries", headers=sup.headers).get_json()
    assert [p["sha256"] for p in listed[0]["photos"]] == [digest]
    fetched = client.get(f"/api/photos/{listed[0]['photos'][0]['id']}", headers=sup.headers)
    assert fetched.status_code == 200 and fetched.data == data

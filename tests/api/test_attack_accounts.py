"""Attacks on accounts, device tokens and field-edit authority (issue 7 items 2, 3, 8, 12 and 17).

Each test is named for what an attacker or a careless user tried; each fails without its fix."""
from __future__ import annotations

from datetime import timedelta

from server.adapters.access_models import ApiToken
from server.adapters.sync_models import Device
from server.service.clock import utcnow
from server.service.security import token_digest
from tests.conftest import PASSWORD
from tests.helpers import assign, create_case
from tests.sync_helpers import PROTOCOL, edit_op, enrol, push, visit_op

NEW_PASSWORD = "a different long passphrase"


def audit(client, reader, **query) -> list[dict]:
    resp = client.get("/api/audit", query_string={"page_size": 100, **query}, headers=reader.headers)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def problem(resp, status: int, code: str) -> dict:
    assert resp.status_code == status, resp.get_json()
    assert resp.content_type == "application/problem+json"
    body = resp.get_json()
    assert body["type"].endswith(f"/{code}"), body
    return body


def assigned_case(client, accounts, officer: str = "officer", **fields) -> dict:
    case = create_case(client, accounts["supervisor"], **fields)
    assign(client, accounts["supervisor"], case["id"], accounts[officer].id)
    return client.get(f"/api/cases/{case['id']}", headers=accounts["supervisor"].headers).get_json()


def sign_in(client, username: str, password: str = PASSWORD) -> dict:
    resp = client.post("/api/auth/login", json={"username": username, "password": password})
    assert resp.status_code == 200, resp.get_json()
    return {"Authorization": f"Bearer {resp.get_json()['token']}"}


def disable(client, admin, user_id: int):
    resp = client.put(f"/api/users/{user_id}/active", json={"active": False}, headers=admin.headers)
    assert resp.status_code == 200, resp.get_json()


# --- item 2: the leaver process ------------------------------------------------------------------------------

def test_disabling_a_leaver_retires_their_devices_so_the_next_contact_hands_in_work_and_erases(client, accounts):
    admin, sup, officer = accounts["admin"], accounts["supervisor"], accounts["officer"]
    case = assigned_case(client, accounts)
    device = enrol(client, officer.username)
    disable(client, admin, officer.id)

    listed = client.get(f"/api/devices?officer_id={officer.id}", headers=sup.headers).get_json()
    assert [(d["id"], d["status"]) for d in listed] == [(device["device_id"], "retired")]
    # what the client does on "retired": push what it holds (kept for review, not applied), goodbye, erase
    problem(client.get("/api/sync/pull", query_string={"limit": 10}, headers=device["headers"]),
            403, "device-retired")
    visit = visit_op(case["id"], notes="seen at the door")
    [result] = push(client, device, [visit])
    assert (result["status"], result["reason"]) == ("quarantined", "account_disabled")
    assert client.post("/api/sync/goodbye", headers=device["headers"]).status_code == 204
    problem(client.get("/api/sync/pull", query_string={"limit": 10}, headers=device["headers"]),
            403, "device-revoked")

    enquiries = client.get(f"/api/cases/{case['id']}/enquiries", headers=sup.headers).get_json()
    assert [e for e in enquiries if e.get("op_id") == visit["op_id"]] == []  # not applied...
    review = client.get("/api/review", headers=sup.headers).get_json()
    [kept] = [r for r in review if r["op_id"] == visit["op_id"]]  # ...but kept for a supervisor
    assert (kept["reason"], kept["case_id"], kept["officer_id"]) == ("account_disabled", case["id"], officer.id)
    accepted = client.post(f"/api/review/{kept['id']}/resolve", json={"decision": "accept"}, headers=sup.headers)
    assert accepted.status_code == 200, accepted.get_json()
    enquiries = client.get(f"/api/cases/{case['id']}/enquiries", headers=sup.headers).get_json()
    assert [e["actor_id"] for e in enquiries if e.get("op_id") == visit["op_id"]] == [officer.id]


def test_disabling_a_leaver_records_who_retired_their_devices(client, accounts, uow):
    admin, officer = accounts["admin"], accounts["officer"]
    device = enrol(client, officer.username)
    disable(client, admin, officer.id)
    with uow.transaction() as unit:
        session = unit.session
        row = session.get(Device, device["device_id"])
        assert (row.status, row.status_changed_by) == ("retired", admin.id)
        assert row.status_changed_at is not None


def test_a_disabled_leavers_device_gets_nothing_but_push_and_goodbye(client, accounts):
    admin, officer = accounts["admin"], accounts["officer"]
    case = assigned_case(client, accounts)
    device = enrol(client, officer.username)
    disable(client, admin, officer.id)
    problem(client.post("/api/sync/check", json={"digest": "0" * 64, "count": 0}, headers=device["headers"]),
            403, "device-retired")
    problem(client.get(f"/api/cases/{case['id']}", headers=device["headers"]), 403, "device-retired")
    problem(client.get("/api/cases", headers=officer.headers), 401, "unauthenticated")  # sign-in token


def test_a_disabled_leavers_field_edit_is_not_applied(client, accounts):
    admin, sup, officer = accounts["admin"], accounts["supervisor"], accounts["officer"]
    case = assigned_case(client, accounts)
    device = enrol(client, officer.username)
    disable(client, admin, officer.id)
    [result] = push(client, device, [edit_op(case["id"], case["version"], {"contact_phone": "01632 960111"})])
    assert (result["status"], result["reason"]) == ("quarantined", "account_disabled")
    after = client.get(f"/api/cases/{case['id']}", headers=sup.headers).get_json()
    assert after["contact_phone"] == case["contact_phone"] and after["version"] == case["version"]


# --- item 3: device tokens on the web API; field-edit authority; audit names fields --------------------------

def test_device_token_patching_a_case_on_the_web_api_is_refused(client, accounts):
    sup, officer = accounts["supervisor"], accounts["officer"]
    case = assigned_case(client, accounts)
    device = enrol(client, officer.username)
    resp = client.patch(f"/api/cases/{case['id']}", json={"cin": True, "dob": "2015-01-01", "first_name": "Mallory"},
                        headers={**device["headers"], "If-Match": f'"{case["version"]}"'})
    assert problem(resp, 403, "forbidden")["rule"] == "device-token:sync-only"
    problem(client.get(f"/api/cases/{case['id']}", headers=device["headers"]), 403, "forbidden")
    problem(client.get("/api/cases", headers=device["headers"]), 403, "forbidden")
    after = client.get(f"/api/cases/{case['id']}", headers=sup.headers).get_json()
    assert (after["cin"], after["dob"], after["first_name"]) == (case["cin"], case["dob"], case["first_name"])


def test_officer_patching_safeguarding_statutory_or_identity_fields_is_refused_naming_the_field(client, accounts):
    sup, officer = accounts["supervisor"], accounts["officer"]
    case = assigned_case(client, accounts)
    for body, field in [({"cin": True}, "cin"), ({"cp": True}, "cp"), ({"dob": "2014-05-05"}, "dob"),
                        ({"first_day_of_absence": "2026-01-05"}, "first_day_of_absence"),
                        ({"first_name": "Mallory"}, "first_name"),
                        ({"contact_phone": "01632 960222", "last_name": "Other"}, "last_name")]:
        resp = client.patch(f"/api/cases/{case['id']}", json=body,
                            headers={**officer.headers, "If-Match": f'"{case["version"]}"'})
        assert problem(resp, 403, "forbidden")["field"] == field, body
    after = client.get(f"/api/cases/{case['id']}", headers=sup.headers).get_json()
    assert after["version"] == case["version"]


def test_officer_patching_what_a_device_may_propose_is_applied(client, accounts):
    officer = accounts["officer"]
    case = assigned_case(client, accounts)
    resp = client.patch(f"/api/cases/{case['id']}", json={"contact_phone": "01632 960333",
                                                          "current_address": {"line1": "2 New Road",
                                                                              "postcode": "ME4 4TB"}},
                        headers={**officer.headers, "If-Match": f'"{case["version"]}"'})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["contact_phone"] == "01632 960333"


def test_officer_patch_is_judged_by_the_sync_value_rules(client, accounts):
    """A postcode the sync rules refuse is refused on PATCH too (the same function judges both)."""
    officer = accounts["officer"]
    case = assigned_case(client, accounts)
    resp = client.patch(f"/api/cases/{case['id']}", json={"current_address": {"line1": "2 New Road",
                                                                              "postcode": "QQ1 1AA"}},
                        headers={**officer.headers, "If-Match": f'"{case["version"]}"'})
    assert problem(resp, 422, "invalid-input")["field"] == "current_address.postcode"


def test_admin_changing_child_protection_flags_is_refused_only_a_supervisor_may(client, accounts):
    admin, sup = accounts["admin"], accounts["supervisor"]
    case = create_case(client, sup)
    refused = client.patch(f"/api/cases/{case['id']}", json={"cp": True},
                           headers={**admin.headers, "If-Match": f'"{case["version"]}"'})
    body = problem(refused, 403, "forbidden")
    assert (body["field"], body["rule"]) == ("cp", "field-edit:supervisor-only")
    done = client.patch(f"/api/cases/{case['id']}", json={"cp": True},
                        headers={**sup.headers, "If-Match": f'"{case["version"]}"'})
    assert done.status_code == 200 and done.get_json()["cp"] is True


def test_update_audit_entry_names_the_fields_changed_not_their_values(client, accounts):
    sup = accounts["supervisor"]
    case = create_case(client, sup)
    resp = client.patch(f"/api/cases/{case['id']}", json={"cin": True, "dob": "2014-02-03", "gender": "female"},
                        headers={**sup.headers, "If-Match": f'"{case["version"]}"'})
    assert resp.status_code == 200, resp.get_json()
    [entry] = audit(client, sup, case_id=case["id"], action="case.update")
    assert entry["detail"] == "cin,dob,gender"


def test_field_edit_audit_entry_names_the_fields_changed(client, accounts):
    sup, officer = accounts["supervisor"], accounts["officer"]
    case = assigned_case(client, accounts)
    device = enrol(client, officer.username)
    [result] = push(client, device, [edit_op(case["id"], case["version"], {"contact_phone": "01632 960444"})])
    assert result["status"] == "applied"
    [entry] = audit(client, sup, case_id=case["id"], action="case.field_edit")
    assert entry["detail"] == "applied:contact_phone"
    assert "960444" not in str(entry)


# --- item 8: a device whose token expired signs in again ---------------------------------------------------

def expire(uow, token: str) -> None:
    with uow.transaction() as unit:
        session = unit.session
        row = session.query(ApiToken).filter_by(token_hash=token_digest(token)).one()
        row.expires_at = utcnow() - timedelta(minutes=1)


def renew(client, device_id: int, username: str, password: str = PASSWORD, headers=PROTOCOL):
    return client.post(f"/api/devices/{device_id}/renew", json={"username": username, "password": password},
                       headers=headers)


def test_device_with_expired_token_signs_in_again_for_the_same_device(client, accounts, uow):
    officer = accounts["officer"]
    case = assigned_case(client, accounts)
    device = enrol(client, officer.username)
    expire(uow, device["device_token"])
    problem(client.get("/api/sync/pull", query_string={"limit": 10}, headers=device["headers"]),
            401, "unauthenticated")

    resp = renew(client, device["device_id"], officer.username)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert set(body) == {"device_id", "device_token", "officer_id", "offline_ttl_seconds", "server_time"}
    assert (body["device_id"], body["officer_id"]) == (device["device_id"], officer.id)
    headers = {**PROTOCOL, "Authorization": f"Bearer {body['device_token']}"}
    pulled = client.get("/api/sync/pull", query_string={"limit": 10}, headers=headers)
    assert pulled.status_code == 200 and [c["id"] for c in pulled.get_json()["cases"]] == [case["id"]]


def test_renewing_revokes_the_devices_older_tokens(client, accounts):
    officer = accounts["officer"]
    device = enrol(client, officer.username)
    assert renew(client, device["device_id"], officer.username).status_code == 200
    problem(client.get("/api/sync/pull", query_string={"limit": 10}, headers=device["headers"]),
            401, "unauthenticated")


def test_renewing_with_a_wrong_password_is_401(client, accounts):
    device = enrol(client, accounts["officer"].username)
    problem(renew(client, device["device_id"], "officer", "wrong password!"), 401, "unauthenticated")


def test_renewing_a_revoked_or_wiped_device_tells_it_to_erase(client, accounts):
    sup, officer = accounts["supervisor"], accounts["officer"]
    device = enrol(client, officer.username)
    assert client.post(f"/api/devices/{device['device_id']}/revoke", headers=sup.headers).status_code == 200
    problem(renew(client, device["device_id"], officer.username), 403, "device-revoked")


def test_renewing_another_officers_device_or_as_a_supervisor_is_forbidden(client, accounts):
    device = enrol(client, accounts["officer"].username)
    problem(renew(client, device["device_id"], "officer2"), 403, "forbidden")
    problem(renew(client, device["device_id"], "supervisor"), 403, "forbidden")


def test_renewing_is_throttled_like_a_sign_in(client, accounts):
    device = enrol(client, accounts["officer"].username)
    for _ in range(5):
        problem(renew(client, device["device_id"], "officer", "wrong password!"), 401, "unauthenticated")
    problem(renew(client, device["device_id"], "officer"), 429, "too-many-attempts")


def test_renewing_without_the_protocol_header_is_refused(client, accounts):
    device = enrol(client, accounts["officer"].username)
    problem(renew(client, device["device_id"], "officer", headers={}), 400, "unsupported-protocol")


# --- item 12: password change, admin reset, enrolment cap and notice ----------------------------------------

def change_password(client, headers, current=PASSWORD, new=NEW_PASSWORD):
    return client.post("/api/auth/password", json={"current_password": current, "new_password": new},
                       headers=headers)


def test_password_change_revokes_the_users_other_sign_in_tokens_and_keeps_this_one(client, accounts):
    officer = accounts["officer"]
    here, elsewhere = sign_in(client, "officer"), sign_in(client, "officer")
    device = enrol(client, officer.username)
    assert change_password(client, here).status_code == 204
    assert client.get("/api/cases", headers=here).status_code == 200
    problem(client.get("/api/cases", headers=elsewhere), 401, "unauthenticated")
    problem(client.get("/api/cases", headers=officer.headers), 401, "unauthenticated")
    # the device is controlled by revoke and retire, not by the password
    assert client.get("/api/sync/pull", query_string={"limit": 10}, headers=device["headers"]).status_code == 200
    problem(client.post("/api/auth/login", json={"username": "officer", "password": PASSWORD}),
            401, "unauthenticated")
    sign_in(client, "officer", NEW_PASSWORD)


def test_password_change_with_a_wrong_current_password_is_refused_and_throttled(client, accounts):
    headers = accounts["officer"].headers
    for _ in range(5):
        body = problem(change_password(client, headers, current="a wrong guess!"), 422, "invalid-input")
        assert body["field"] == "current_password"
    problem(change_password(client, headers), 429, "too-many-attempts")


def test_password_change_to_a_short_password_is_refused(client, accounts):
    body = problem(change_password(client, accounts["officer"].headers, new="short"), 422, "invalid-input")
    assert body["field"] == "new_password"


def test_password_change_with_a_device_token_is_refused(client, accounts):
    device = enrol(client, accounts["officer"].username)
    problem(change_password(client, {"Authorization": device["headers"]["Authorization"]}), 403, "forbidden")


def test_admin_password_reset_sets_a_new_password_and_revokes_all_sign_in_tokens(client, accounts):
    admin, officer = accounts["admin"], accounts["officer"]
    other = sign_in(client, "officer")
    resp = client.post(f"/api/users/{officer.id}/password", json={"password": NEW_PASSWORD}, headers=admin.headers)
    assert resp.status_code == 204, resp.get_json()
    for headers in (officer.headers, other):
        problem(client.get("/api/cases", headers=headers), 401, "unauthenticated")
    sign_in(client, "officer", NEW_PASSWORD)
    [entry] = audit(client, admin, action="user.password_reset")
    assert entry["actor_id"] == admin.id and NEW_PASSWORD not in str(entry)


def test_admin_password_reset_by_a_supervisor_or_too_short_is_refused(client, accounts):
    officer = accounts["officer"]
    problem(client.post(f"/api/users/{officer.id}/password", json={"password": NEW_PASSWORD},
                        headers=accounts["supervisor"].headers), 403, "forbidden")
    problem(client.post(f"/api/users/{officer.id}/password", json={"password": "short"},
                        headers=accounts["admin"].headers), 422, "invalid-input")


def test_fourth_device_enrolment_of_one_officer_is_refused_naming_the_rule(client, accounts):
    for n in range(3):
        enrol(client, "officer", f"tablet {n}")
    resp = client.post("/api/devices/enrol", json={"username": "officer", "password": PASSWORD,
                                                   "device_name": "one too many"}, headers=PROTOCOL)
    assert problem(resp, 409, "conflict")["rule"] == "devices:max-per-officer"
    enrol(client, "officer2")  # the cap is per officer


def test_a_retired_device_no_longer_counts_towards_the_enrolment_cap(client, accounts):
    sup = accounts["supervisor"]
    devices = [enrol(client, "officer", f"tablet {n}") for n in range(3)]
    client.post(f"/api/devices/{devices[0]['device_id']}/retire", headers=sup.headers)
    enrol(client, "officer", "replacement")


def test_each_enrolment_is_audited_and_raises_an_alert_for_supervisors(client, accounts):
    sup, officer = accounts["supervisor"], accounts["officer"]
    device = enrol(client, officer.username)
    [entry] = audit(client, sup, action="device.enrol")
    assert (entry["actor_id"], entry["device_id"]) == (officer.id, device["device_id"])
    alerts = [a for a in client.get("/api/actions?open=true", headers=sup.headers).get_json()
              if a["code"] == "device_enrolled"]
    assert len(alerts) == 1 and alerts[0]["case_id"] is None and str(device["device_id"]) in alerts[0]["title"]
    # an officer does not see it; a supervisor acknowledges it
    assert all(a["code"] != "device_enrolled" for a in client.get("/api/actions", headers=officer.headers).get_json())
    problem(client.post(f"/api/actions/{alerts[0]['id']}/acknowledge", json={}, headers=officer.headers),
            404, "not-found")
    done = client.post(f"/api/actions/{alerts[0]['id']}/acknowledge", json={"note": "checked with the officer"},
                       headers=sup.headers)
    assert done.status_code == 200, done.get_json()


# --- item 17: denied reads are audited ----------------------------------------------------------------------

def test_officer_probing_an_unassigned_case_is_audited_as_denied(client, accounts):
    sup, officer = accounts["supervisor"], accounts["officer"]
    mine = assigned_case(client, accounts)
    theirs = assigned_case(client, accounts, officer="officer2")
    problem(client.get(f"/api/cases/{theirs['id']}", headers=officer.headers), 404, "not-found")
    problem(client.get(f"/api/cases/{theirs['id']}/enquiries", headers=officer.headers), 404, "not-found")
    problem(client.get("/api/cases/999999", headers=officer.headers), 404, "not-found")
    denied = audit(client, sup, action="case.denied")
    assert [(e["actor_id"], e["case_id"], e["detail"]) for e in denied] == [
        (officer.id, theirs["id"], "denied"), (officer.id, theirs["id"], "denied"), (officer.id, 999999, "denied")]
    assert [e for e in audit(client, sup, case_id=mine["id"]) if e["action"] == "case.denied"] == []


def test_officer_writing_to_an_unassigned_case_is_audited_as_denied(client, accounts):
    sup, officer = accounts["supervisor"], accounts["officer"]
    theirs = assigned_case(client, accounts, officer="officer2")
    resp = client.patch(f"/api/cases/{theirs['id']}", json={"contact_phone": "01632 960555"},
                        headers={**officer.headers, "If-Match": f'"{theirs["version"]}"'})
    problem(resp, 404, "not-found")
    assert [(e["actor_id"], e["case_id"]) for e in audit(client, sup, action="case.denied")] == [
        (officer.id, theirs["id"])]


def test_update_touching_every_field_names_as_many_as_fit_in_the_audit_detail():
    from server.service.audit import DETAIL_MAX, fields_detail

    many = [f"field_number_{n:02d}" for n in range(40)]
    detail = fields_detail(many)
    assert len(detail) <= DETAIL_MAX and detail.startswith("field_number_00,")
    named = detail.split(",")
    assert int(named[-1].removeprefix("+")) == 40 - (len(named) - 1)


def test_officer_sending_a_protected_field_back_unchanged_is_no_edit_and_not_refused(client, accounts):
    officer = accounts["officer"]
    case = assigned_case(client, accounts)
    resp = client.patch(f"/api/cases/{case['id']}", json={"dob": case["dob"], "cin": case["cin"],
                                                          "contact_phone": "01632 960666"},
                        headers={**officer.headers, "If-Match": f'"{case["version"]}"'})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["contact_phone"] == "01632 960666"

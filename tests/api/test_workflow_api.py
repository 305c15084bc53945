"""The register's workflow over HTTP: referral, alerts, enquiries, closing rules, term dates, school age, sign-in,
and the shape of errors (RFC 9457 problem details; DESIGN.md "Layout")."""
from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta

import pytest

from tests.conftest import PASSWORD
from tests.helpers import assign, child, create_case, transition

PROBLEM = "application/problem+json"
REFERRAL = {"source": "school", "route": "form", "situation": "left_school_no_forwarding_school"}
TODAY = date.today()
YESTERDAY = (TODAY - timedelta(days=1)).isoformat()
TOMORROW = (TODAY + timedelta(days=1)).isoformat()


def problem_of(resp, status: int) -> dict:
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.content_type == PROBLEM
    body = resp.get_json()
    assert body["status"] == status and body["type"].startswith("https://") and body["title"]
    return body


def recent(stamp: str) -> bool:
    at = datetime.fromisoformat(stamp)
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    return abs(datetime.now(UTC) - at) < timedelta(minutes=1)


# --- referrals (§9) ----------------------------------------------------------------------------------------------

def test_referrer_gets_a_receipt_and_then_cannot_read_the_case(client, accounts):
    """§9.1 referrals from all sources; DESIGN.md: referrers "submit; they never read the register"."""
    ref, sup = accounts["referrer"], accounts["supervisor"]
    resp = client.post("/api/referrals", json={**REFERRAL, "child": child(), "referrer_name": "Head of Year 6"},
                       headers=ref.headers)
    assert resp.status_code == 201
    receipt = resp.get_json()
    # issue 7 item 11: a random receipt, no case id, reference or referral number (they count the register)
    assert set(receipt) == {"receipt", "received_at"}
    assert re.fullmatch(r"CME-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}", receipt["receipt"])
    assert recent(receipt["received_at"]) and "Zebedee" not in resp.get_data(as_text=True)

    referral = client.get(f"/api/referrals?receipt={receipt['receipt']}", headers=sup.headers).get_json()
    found = client.get(f"/api/cases/{referral[0]['case_id']}", headers=sup.headers).get_json()
    assert found["status"] == "referred"  # §9.4: recorded onto the database at once
    case_id, reference = found["id"], found["reference"]
    for url in (f"/api/cases/{case_id}", f"/api/cases?reference={reference}",
                f"/api/referrals?receipt={receipt['receipt']}",
                f"/api/cases/{case_id}/referrals", f"/api/cases/{case_id}/enquiries"):
        problem = problem_of(client.get(url, headers=ref.headers), 403)
        assert problem["rule"] == "role:read_case"
    referrals = client.get(f"/api/cases/{case_id}/referrals", headers=sup.headers).get_json()
    assert [(r["source"], r["situation"], r["referrer_name"]) for r in referrals] == [
        ("school", "left_school_no_forwarding_school", "Head of Year 6")]


def test_referrer_may_not_probe_case_ids(client, accounts):
    sup_case = create_case(client, accounts["supervisor"])
    resp = client.post("/api/referrals", json={**REFERRAL, "case_id": sup_case["id"]},
                       headers=accounts["referrer"].headers)
    assert problem_of(resp, 422)["field"] == "case_id"


def test_referral_needs_child_or_case_not_both(client, accounts):
    resp = client.post("/api/referrals", json=REFERRAL, headers=accounts["referrer"].headers)
    assert problem_of(resp, 422)["field"] == "child"
    resp = client.post("/api/referrals", json={**REFERRAL, "situation": "lost"}, headers=accounts["referrer"].headers)
    assert problem_of(resp, 422)["field"] == "situation"


def test_cp_referral_raises_social_worker_alert_acknowledged_once(client, accounts):
    """§11.4: a child on a CP plan → the allocated social worker is alerted immediately; the alert is listed
    until someone acknowledges it, and the register records who and when."""
    ref, sup, officer = accounts["referrer"], accounts["supervisor"], accounts["officer"]
    resp = client.post("/api/referrals", json={**REFERRAL, "child": child(cp=True, social_worker="A. Worker")},
                       headers=ref.headers)
    assert resp.status_code == 201
    alerts = client.get("/api/actions?open=true&category=alert", headers=sup.headers).get_json()
    assert [(a["code"], a["policy_ref"], a["category"]) for a in alerts] == [
        ("alert_social_worker", "§11.4", "alert")]
    alert = alerts[0]
    assert alert["acknowledged_at"] is None and recent(alert["raised_at"])

    assign(client, sup, alert["case_id"], officer.id)
    acked = client.post(f"/api/actions/{alert['id']}/acknowledge", json={"note": "spoke to the social worker"},
                        headers=officer.headers)
    assert acked.status_code == 200
    body = acked.get_json()
    assert body["acknowledged_by"] == officer.id and recent(body["acknowledged_at"])
    assert body["note"] == "spoke to the social worker"
    assert client.get("/api/actions?open=true", headers=sup.headers).get_json() == []

    again = client.post(f"/api/actions/{alert['id']}/acknowledge", json={}, headers=sup.headers)
    assert problem_of(again, 409)["type"].endswith("/conflict")
    kept = client.get(f"/api/actions?case_id={alert['case_id']}", headers=sup.headers).get_json()[0]
    assert kept["acknowledged_by"] == officer.id  # the second attempt changed nothing


def test_refused_place_referral_raises_consider_sao_task(client, accounts):
    """§10.5 / §4.9: a refused place is a reason to consider a School Attendance Order."""
    sup = accounts["supervisor"]
    client.post("/api/referrals", json={**REFERRAL, "situation": "refused_place_or_transition", "child": child()},
                headers=accounts["referrer"].headers)
    tasks = client.get("/api/actions?category=task", headers=sup.headers).get_json()
    assert [(t["code"], t["policy_ref"]) for t in tasks] == [("consider_school_attendance_order", "§10.5")]


def test_cp_flag_set_later_raises_alert_once(client, accounts):
    """§11.4: learning of a CP/CIN plan on an existing case raises the alert; later edits do not repeat it."""
    sup = accounts["supervisor"]
    case = create_case(client, sup)
    url = f"/api/cases/{case['id']}"
    first = client.patch(url, json={"cin": True}, headers={**sup.headers, "If-Match": '"1"'})
    assert first.status_code == 200
    client.patch(url, json={"cp": True}, headers={**sup.headers, "If-Match": first.headers["ETag"]})
    codes = [a["code"] for a in client.get(f"/api/actions?case_id={case['id']}", headers=sup.headers).get_json()]
    assert codes == ["alert_social_worker"]


# --- enquiries (DESIGN.md "Enquiries") ------------------------------------------------------------------------

@pytest.fixture
def officer_case(client, accounts):
    case = create_case(client, accounts["supervisor"])
    assign(client, accounts["supervisor"], case["id"], accounts["officer"].id)
    return case["id"]


GOOD_ENQUIRIES = [
    {"kind": "home_visit", "outcome": "no_answer", "notice_left": True, "occurred_at": "2026-11-03T09:15:00+00:00"},
    {"kind": "home_visit", "outcome": "new_address_obtained", "person_spoken_to": "neighbour",
     "new_address": {"line1": "7 Elsewhere Road", "town": "Fictown", "postcode": "ZE2 2BB"}},
    {"kind": "address_check", "source": "council_tax", "outcome": "not_at_address"},
    {"kind": "partner_check", "source": "s2s_lost_pupil", "notes": "no CTF uploaded yet"},  # §11.5
    {"kind": "letter", "letter_type": "removal from roll warning"},  # §11.8
]


def test_enquiries_are_recorded_in_order(client, accounts, officer_case):
    officer = accounts["officer"]
    url = f"/api/cases/{officer_case}/enquiries"
    for body in GOOD_ENQUIRIES:
        resp = client.post(url, json=body, headers=officer.headers)
        assert resp.status_code == 201, resp.get_json()
        made = resp.get_json()
        assert made["kind"] == body["kind"] and made["actor_id"] == officer.id and recent(made["recorded_at"])
    listed = client.get(url, headers=officer.headers).get_json()
    assert [e["kind"] for e in listed] == [b["kind"] for b in GOOD_ENQUIRIES]
    assert listed[0]["occurred_at"].startswith("2026-11-03T09:15") and listed[0]["details"] == {"notice_left": True}
    assert listed[1]["details"]["new_address"]["postcode"] == "ZE2 2BB"


BAD_ENQUIRIES = [
    ({"kind": "home_visit"}, "outcome"),
    ({"kind": "home_visit", "outcome": "maybe"}, "outcome"),
    ({"kind": "home_visit", "outcome": "not_at_address"}, "outcome"),  # an address-check result, not a visit's
    ({"kind": "address_check"}, "source"),
    ({"kind": "address_check", "source": "police"}, "source"),  # police is a partner, not an address source
    ({"kind": "address_check", "source": "council_tax", "outcome": "child_seen"}, "outcome"),
    ({"kind": "partner_check"}, "source"),
    ({"kind": "partner_check", "source": "council_tax"}, "source"),
    ({"kind": "letter", "letter_type": "x" * 101}, "letter_type"),
    ({"kind": "phone_call"}, "kind"),
    ({"outcome": "child_seen"}, "kind"),
    ({"kind": "home_visit", "outcome": "new_address_obtained",
      "new_address": {"line1": "7 Elsewhere Road", "town": "Fictown", "postcode": "not a postcode"}},
     "new_address.postcode"),
    ({"kind": "home_visit", "outcome": "child_seen", "occurred_at": "2026-11-03T09:15:00"}, "occurred_at"),  # no zone
    ({"kind": "letter", "colour": "blue"}, "colour"),
]


@pytest.mark.parametrize(("body", "field"), BAD_ENQUIRIES, ids=[f"{b.get('kind')}-{f}" for b, f in BAD_ENQUIRIES])
def test_bad_enquiry_is_422_naming_the_field_and_records_nothing(client, accounts, officer_case, body, field):
    officer = accounts["officer"]
    url = f"/api/cases/{officer_case}/enquiries"
    problem = problem_of(client.post(url, json=body, headers=officer.headers), 422)
    assert problem["field"] == field and problem["type"].endswith("/invalid-input")
    assert field in problem["errors"]
    assert client.get(url, headers=officer.headers).get_json() == []


def test_safeguarding_concern_raises_social_care_referral_task(client, accounts, officer_case):
    """§11.6: an enquiry that returns a safeguarding concern → a referral to social care."""
    officer = accounts["officer"]
    resp = client.post(f"/api/cases/{officer_case}/enquiries", json={
        "kind": "partner_check", "source": "police", "safeguarding_concern": True}, headers=officer.headers)
    assert resp.status_code == 201
    tasks = client.get(f"/api/actions?case_id={officer_case}", headers=officer.headers).get_json()
    assert [(t["code"], t["policy_ref"]) for t in tasks] == [("refer_to_social_care", "§11.6")]


# --- closing rules over HTTP --------------------------------------------------------------------------------

def status_of(client, account, case_id: int) -> str:
    return client.get(f"/api/cases/{case_id}", headers=account.headers).get_json()["status"]


def refused(resp, status: int, *, rule: str | None = None, field: str | None = None) -> dict:
    problem = problem_of(resp, status)
    if rule is not None:
        assert problem["rule"] == rule, problem
    if field is not None:
        assert problem["field"] == field, problem
    return problem


def test_closing_rules_over_http(client, accounts):
    """§5.3, §10.4, §11.7 and §11.9 refusals are 409 problems carrying `rule`; bad input is 422 naming the field;
    a refused move leaves the case where it was."""
    sup = accounts["supervisor"]
    cid = create_case(client, sup)["id"]

    refused(transition(client, sup, cid, target="closed"), 409, rule="§5.3", field="closure")
    assert status_of(client, sup, cid) == "referred"
    refused(transition(client, sup, cid, target="untraced"), 409, rule="lifecycle", field="target")
    assert transition(client, sup, cid, target="open").status_code == 200

    no_date = {"reason": "on_roll_at_school", "school_name": "Fictown Primary"}
    refused(transition(client, sup, cid, target="closed", closure=no_date), 409, rule="§10.4",
            field="closure.on_roll_date")
    future = {**no_date, "on_roll_date": TOMORROW}
    refused(transition(client, sup, cid, target="closed", closure=future), 422, field="closure.on_roll_date")
    refused(transition(client, sup, cid, target="closed", closure={"reason": "moved_away"}), 422,
            field="closure.reason")
    assert status_of(client, sup, cid) == "open"

    # §11.7: transferred out stays open until enrolment elsewhere is confirmed
    refused(transition(client, sup, cid, target="transferred_out"), 422, field="destination")
    assert transition(client, sup, cid, target="transferred_out", destination="Kent").status_code == 200
    notified = {"reason": "enrolled_in_other_la", "la_name": "Kent", "school_name": "Maidstone Academy",
                "confirmed_on": YESTERDAY}
    refused(transition(client, sup, cid, target="closed", closure=notified), 409, rule="§11.7",
            field="closure.enrolment_confirmed")
    refused(transition(client, sup, cid, target="closed", closure={**no_date, "on_roll_date": YESTERDAY}), 409,
            rule="§11.7", field="closure.reason")
    assert status_of(client, sup, cid) == "transferred_out"
    done = transition(client, sup, cid, target="closed", closure={**notified, "enrolment_confirmed": True})
    assert done.status_code == 200
    body = done.get_json()
    assert body["status"] == "closed" and body["close_reason"] == "enrolled_in_other_la"
    assert body["close_evidence"]["la_name"] == "Kent" and body["close_evidence"]["enrolment_confirmed"] is True

    # reopening needs a note; then §11.9 for an untraced child
    refused(transition(client, sup, cid, target="open"), 422, field="note")
    refused(transition(client, sup, cid, target="untraced", note="x"), 409, rule="lifecycle")
    assert transition(client, sup, cid, target="open", note="family seen back in Medway").status_code == 200
    assert transition(client, sup, cid, target="untraced").status_code == 200
    on_roll = {**no_date, "on_roll_date": YESTERDAY}
    refused(transition(client, sup, cid, target="closed", closure=on_roll), 409, rule="§11.9",
            field="closure.located_on")
    refused(transition(client, sup, cid, target="closed", closure={"reason": "no_longer_of_compulsory_school_age"}),
            409, rule="§11.9")
    assert status_of(client, sup, cid) == "untraced"
    closed = transition(client, sup, cid, target="closed", closure={**on_roll, "located_on": YESTERDAY})
    assert closed.status_code == 200 and closed.get_json()["closed_at"]


def test_untraced_raises_s2s_letter_and_csu_tasks(client, accounts):
    """§11.5/§11.8: check the S2S upload (destination XXXXXXX) and the letter; §11.10: tell the Community Safety
    Unit."""
    sup = accounts["supervisor"]
    cid = create_case(client, sup)["id"]
    transition(client, sup, cid, target="open")
    assert transition(client, sup, cid, target="untraced").status_code == 200
    tasks = client.get(f"/api/actions?case_id={cid}&open=true", headers=sup.headers).get_json()
    assert [(t["code"], t["policy_ref"]) for t in tasks] == [
        ("check_s2s_upload", "§11.5, §11.8"), ("letter_to_last_known_address", "§11.8"),
        ("inform_community_safety_unit", "§11.10")]


def test_transition_with_stale_if_match_is_412(client, accounts):
    sup = accounts["supervisor"]
    cid = create_case(client, sup)["id"]
    resp = client.post(f"/api/cases/{cid}/transitions", json={"target": "open"},
                       headers={**sup.headers, "If-Match": '"7"'})
    refused(resp, 412, field="If-Match")
    assert status_of(client, sup, cid) == "referred"


# --- term dates and deadlines -------------------------------------------------------------------------------

TERMS_CSV = ("academic_year,name,start,end\n"
             "2026-27,Autumn,2026-09-02,2026-12-18\n"
             "2026-27,Spring,2027-01-05,2027-03-26\n"
             "2026-27,Summer,2027-04-12,2027-07-21\n")
TERMS_JSON = json.dumps({"academic_year": "2026-27",
                         "terms": [{"name": "Autumn", "start": "2026-09-02", "end": "2026-12-18"}],
                         "closures": [{"date": "2026-11-04", "reason": "INSET day"}]})


def load_terms(client, admin, content: str, fmt: str):
    return client.put("/api/calendar/term-dates", json={"format": fmt, "content": content}, headers=admin.headers)


def test_term_dates_upload_csv_then_json_replaces_the_year(client, accounts):
    admin = accounts["admin"]
    resp = load_terms(client, admin, TERMS_CSV, "csv")
    assert resp.status_code == 200
    assert [t["name"] for t in resp.get_json()] == ["Autumn", "Spring", "Summer"]
    resp = load_terms(client, admin, TERMS_JSON, "json")
    assert resp.status_code == 200
    listed = client.get("/api/calendar/term-dates?academic_year=2026-27", headers=accounts["officer"].headers)
    assert [(t["name"], t["start"], t["end"]) for t in listed.get_json()] == [
        ("Autumn", "2026-09-02", "2026-12-18"), ("closure: INSET day", "2026-11-04", "2026-11-04")]


BAD_TERMS = [
    ("academic_year,name,start\n2026-27,Autumn,2026-09-02\n", "csv", "header"),
    ("academic_year,name,start,end\n2026-27,Autumn,2026-13-02,2026-12-18\n", "csv", "row 2: start"),
    (TERMS_CSV + "2026-27,Extra,2026-12-01,2026-12-20\n", "csv", "row 5: start"),  # overlaps Autumn
    ('{"academic_year": "2026-27", "terms": [{"name": "Autumn", "start": "2026-12-18", "end": "2026-09-02"}]}',
     "json", "terms[0].end"),
    ('{"academic_year": "2026-27", "terms": [', "json", "json"),
    ('{"academic_year": "2026/27", "terms": [{"name": "A", "start": "2026-09-02", "end": "2026-12-18"}]}',
     "json", "academic_year"),
    (TERMS_CSV, "xlsx", "format"),
    ("", "csv", "content"),
]


@pytest.mark.parametrize(("content", "fmt", "field"), BAD_TERMS, ids=[b[2] for b in BAD_TERMS])
def test_bad_term_dates_are_422_naming_the_field_and_load_nothing(client, accounts, content, fmt, field):
    admin = accounts["admin"]
    problem = problem_of(load_terms(client, admin, content, fmt), 422)
    assert problem["field"] == field
    assert client.get("/api/calendar/term-dates", headers=admin.headers).get_json() == []


def test_deadlines_stop_being_estimates_once_term_dates_are_loaded(client, accounts):
    """DESIGN.md "Deadlines in school days": without term dates the answer is an estimate and says so; with them
    (and an INSET day) the deadlines move and are no longer estimates. §11.2/§13.4: AO consulted by day 5,
    referral within 10 school days of the first day of absence (Monday 2 November 2026)."""
    sup = accounts["supervisor"]
    cid = create_case(client, sup)["id"]

    def deadlines() -> dict[str, dict]:
        view = client.get(f"/api/cases/{cid}", headers=sup.headers).get_json()
        return {d["code"]: d for d in view["deadlines"]}

    before = deadlines()
    assert (before["ao_consulted"]["due"], before["ao_consulted"]["estimated"]) == ("2026-11-06", True)
    assert (before["referral_due"]["due"], before["referral_due"]["estimated"]) == ("2026-11-13", True)
    assert load_terms(client, accounts["admin"], TERMS_JSON, "json").status_code == 200
    after = deadlines()
    assert (after["ao_consulted"]["due"], after["ao_consulted"]["estimated"]) == ("2026-11-09", False)
    assert (after["referral_due"]["due"], after["referral_due"]["estimated"]) == ("2026-11-16", False)
    assert after["compulsory_school_age_ends"]["estimated"] is False


# --- compulsory school age ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("dob", "starts", "ends"), [
    ("2007-09-23", "2012-12-31", "2024-06-28"),
    ("2020-04-01", "2025-08-31", "2036-06-27"),
    ("2009-08-31", "2014-08-31", "2025-06-27"),
])
def test_school_age_endpoint_worked_examples(client, accounts, dob, starts, ends):
    """DESIGN.md "Compulsory school age" (Education Act 1996 s.8) worked examples; anyone signed in may ask."""
    resp = client.get(f"/api/calendar/school-age?dob={dob}", headers=accounts["referrer"].headers)
    assert resp.status_code == 200
    assert resp.get_json() == {"dob": dob, "starts": starts, "ends": ends,
                               "applies_today": date.fromisoformat(starts) <= TODAY <= date.fromisoformat(ends)}


@pytest.mark.parametrize("query", ["", "?dob=2020-02-30", "?dob=1850-01-01", "?dob=yesterday"])
def test_school_age_bad_dob_is_422(client, accounts, query):
    problem = problem_of(client.get(f"/api/calendar/school-age{query}", headers=accounts["officer"].headers), 422)
    assert problem["field"] == "dob"


# --- sign-in ------------------------------------------------------------------------------------------------

def login(client, username: str, password: str):
    return client.post("/api/auth/login", json={"username": username, "password": password})


def test_login_gives_a_working_token(client, accounts):
    resp = login(client, "officer", PASSWORD)
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["user_id"] == accounts["officer"].id and body["role"] == "officer"
    assert datetime.fromisoformat(body["expires_at"]).replace(tzinfo=UTC) > datetime.now(UTC)
    assert client.get("/api/cases", headers={"Authorization": f"Bearer {body['token']}"}).status_code == 200


def test_five_wrong_passwords_lock_out_even_the_right_one(client, accounts):
    """Rate-limited login (DESIGN.md "Security model"): after 5 failures the right password is refused too,
    with Retry-After; other accounts are unaffected."""
    for _ in range(5):
        assert problem_of(login(client, "officer", "wrong password!"), 401)["type"].endswith("/unauthenticated")
    locked = login(client, "officer", PASSWORD)
    problem = problem_of(locked, 429)
    assert problem["type"].endswith("/too-many-attempts")
    assert int(locked.headers["Retry-After"]) > 0
    assert "token" not in problem
    assert login(client, "officer2", PASSWORD).status_code == 200


def test_logout_revokes_the_token(client, accounts):
    token = login(client, "supervisor", PASSWORD).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/cases", headers=headers).status_code == 200
    assert client.post("/api/auth/logout", headers=headers).status_code == 204
    problem_of(client.get("/api/cases", headers=headers), 401)
    assert client.get("/api/cases", headers=accounts["supervisor"].headers).status_code == 200  # other tokens live


# --- malformed and oversized requests ------------------------------------------------------------------------

def test_oversized_body_is_413_problem(client, accounts):
    """Bodies over 1 MiB are refused before anything is parsed or written."""
    sup = accounts["supervisor"]
    big = child(ehe_history="x" * (1024 * 1024 + 1))
    problem_of(client.post("/api/cases", json=big, headers=sup.headers), 413)
    problem_of(client.post("/api/auth/login", data=b"{" + b" " * (1024 * 1024 + 10) + b"}",
                           content_type="application/json"), 413)
    assert client.get("/api/cases", headers=sup.headers).get_json() == []


@pytest.mark.parametrize("raw", [b"{not json", b"\x80\x81", b'{"first_name": "A"', b"\x00"])
def test_malformed_json_is_400_problem(client, accounts, raw):
    resp = client.post("/api/cases", data=raw, content_type="application/json",
                       headers=accounts["supervisor"].headers)
    problem = problem_of(resp, 400)
    assert problem["type"].endswith("/malformed-body")


@pytest.mark.parametrize("body", [[1, 2], "a string", 42, None])
def test_json_that_is_not_an_object_is_422_problem(client, accounts, body):
    resp = client.post("/api/cases", data=json.dumps(body), content_type="application/json",
                       headers=accounts["supervisor"].headers)
    assert resp.status_code == 422 and resp.content_type == PROBLEM


def test_unknown_field_is_422_naming_it(client, accounts):
    resp = client.post("/api/cases", json=child(favourite_colour="blue"), headers=accounts["supervisor"].headers)
    assert problem_of(resp, 422)["field"] == "favourite_colour"


@pytest.mark.parametrize(("name", "value"), [("dob", "0016-03-14"), ("first_day_of_absence", "1066-10-14"),
                                             ("place_offered_on", "2999-01-01")])
def test_dates_outside_the_calendar_are_422_not_500(client, accounts, name, value):
    """Counting school days from a date typed as 0016 would overflow; the register refuses such dates."""
    resp = client.post("/api/cases", json=child(**{name: value}), headers=accounts["supervisor"].headers)
    assert problem_of(resp, 422)["field"] == name


def test_page_far_past_the_end_is_empty_not_500(client, accounts):
    sup = accounts["supervisor"]
    create_case(client, sup)
    for url in ("/api/cases?page=99999999999999999999", "/api/audit?page=99999999999999999999"):
        resp = client.get(url, headers=sup.headers)
        assert resp.status_code == 200 and resp.get_json() == [], url

"""Bad input at the HTTP edge (issue 7 items 1 and 6): never a 500, always a 4xx problem naming the field.

Text is judged by `sync.text.text_problem`, the same judge the push applies to ops: lone surrogates and NUL (no
database holds them), control characters (ESC/BEL act on an officer's terminal), invisible format characters
(bidi overrides reorder a name). Names and other one-line fields refuse line breaks too; prose keeps them.
"""
from __future__ import annotations

import pytest

from tests.helpers import CHILD, create_case

PROBLEM = "application/problem+json"
REFERRAL = {"source": "school", "route": "form", "situation": "in_area_without_place"}
LONG = "1" * 5000


def _post_raw(client, url: str, body: str, headers: dict):
    return client.post(url, data=body, content_type="application/json", headers=headers)


def _problem(resp, status: int) -> dict:
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.content_type == PROBLEM
    return resp.get_json()


@pytest.mark.parametrize(("url", "body"), [
    ("/api/cases", '{"first_name": "A", "last_name": "B", "dob": "2016-01-01", "carers": [{"id": %s, "name": "x"}]}'),
    ("/api/auth/login", '{"username": %s, "password": "x"}'),
    ("/api/referrals", '{"case_id": %s, "source": "school", "route": "form", "situation": "place_not_taken_up"}'),
    ("/api/sync/push", '{"ops": [{"op_id": "a", "kind": "k", "device_time": "t", "case_id": %s, "payload": {}}]}'),
])
def test_five_thousand_digit_integer_is_a_malformed_body_not_500(client, accounts, url, body):
    """Python refuses to convert an integer of more than 4300 digits: the parser's ValueError was a 500."""
    headers = {**accounts["supervisor"].headers, "CME-Sync-Protocol": "1"}
    problem = _problem(_post_raw(client, url, body % LONG, headers), 400)
    assert problem["type"].endswith("/malformed-body") and "digits" in problem["detail"]


def test_long_but_convertible_integer_is_refused_on_its_field(client, accounts):
    body = '{"case_id": %s, "source": "school", "route": "form", "situation": "place_not_taken_up"}' % ("9" * 200)
    assert _problem(_post_raw(client, "/api/referrals", body, accounts["referrer"].headers), 422)["field"] == "case_id"
    resp = client.get("/api/cases", query_string={"assigned_to": LONG}, headers=accounts["supervisor"].headers)
    assert _problem(resp, 422)["field"] == "assigned_to"


@pytest.mark.parametrize(("url", "body", "field"), [
    ("/api/cases", '{"first_name": "Ze\\ud83d", "last_name": "B", "dob": "2016-01-01"}', "first_name"),
    ("/api/cases", '{"first_name": "A", "last_name": "B", "dob": "2016-01-01", "carers": [{"name": "\\udc00"}]}',
     "carers.0.name"),
    ("/api/auth/login", '{"username": "officer\\ud83d", "password": "x"}', "username"),
    ("/api/auth/login", '{"username": "officer", "password": "x\\udc00"}', "password"),
    ("/api/referrals", '{"child": {"first_name": "\\ud83d", "last_name": "B", "dob": "2016-01-01"}, '
                       '"source": "school", "route": "form", "situation": "place_not_taken_up"}', "child.first_name"),
    ("/api/referrals", '{"case_id": 1, "details": "\\ud800 seen", "source": "school", "route": "form", '
                       '"situation": "place_not_taken_up"}', "details"),
])
def test_lone_surrogate_is_refused_on_its_field_not_500(client, accounts, url, body, field):
    problem = _problem(_post_raw(client, url, body, accounts["admin"].headers), 422)
    assert problem["field"] == field and "surrogate" in problem["detail"]


def test_control_character_in_a_query_value_is_refused_on_its_field(client, accounts):
    resp = client.get("/api/cases", query_string={"reference": "CME\x1b[2J"}, headers=accounts["supervisor"].headers)
    problem = _problem(resp, 422)
    assert problem["field"] == "reference" and "U+001B" in problem["detail"]


# --- item 6: names and text from referrers must not inject into a terminal -------------------------------------

@pytest.mark.parametrize(("change", "field"), [
    ({"first_name": "\x1b[2J"}, "first_name"),
    ({"last_name": "Smith\x07"}, "last_name"),
    ({"last_name": "Smith\u202eenots"}, "last_name"),
    ({"preferred_name": "Zeb\u200b"}, "preferred_name"),
    ({"first_name": "Zeb\nedee"}, "first_name"),
    ({"carers": [{"name": "Marigold\x1b]0;owned\x07"}]}, "carers.0.name"),
    ({"current_address": {"line1": "14 Nowhere\u2028Crescent", "postcode": "ZZ1 1AA"}}, "current_address.line1"),
    ({"ehe_history": "registered EHE \x1b[31m in 2024"}, "ehe_history"),
])
def test_control_and_format_characters_in_case_text_are_refused_naming_the_field(client, accounts, change, field):
    resp = client.post("/api/cases", json={**CHILD, **change}, headers=accounts["supervisor"].headers)
    assert _problem(resp, 422)["field"] == field


def test_control_characters_in_a_referral_are_refused_naming_the_field(client, accounts):
    ref = accounts["referrer"]
    for body, field in [({"child": {**CHILD, "first_name": "\x1b[2J"}}, "child.first_name"),
                        ({"child": CHILD, "referrer_name": "Head\x1b[0m"}, "referrer_name"),
                        ({"child": CHILD, "details": "seen \x1b[2J"}, "details")]:
        resp = client.post("/api/referrals", json={**REFERRAL, **body}, headers=ref.headers)
        assert _problem(resp, 422)["field"] == field


def test_markup_like_names_and_real_scripts_are_just_text(client, accounts):
    """"[/]" broke the field client's rich markup: that is for the client to escape, not for the server to refuse.
    Joiners that spell Persian and Indic names, and line breaks in prose, are kept."""
    case = create_case(client, accounts["supervisor"], first_name="[/]", last_name="[bold]Smith[/bold]",
                       preferred_name="\u0645\u06cc\u200c\u0631\u0627", ehe_history="line one\nline two\ttabbed")
    assert (case["first_name"], case["last_name"]) == ("[/]", "[bold]Smith[/bold]")
    assert case["ehe_history"] == "line one\nline two\ttabbed"
    resp = client.post("/api/referrals", json={**REFERRAL, "child": {**CHILD, "first_name": "[/]"},
                                               "details": "first line\r\nsecond"}, headers=accounts["referrer"].headers)
    assert resp.status_code == 201, resp.get_json()


def test_a_pasted_term_dates_file_may_still_start_with_a_byte_order_mark(client, accounts):
    content = "\ufeffacademic_year,name,start,end\n2026-27,Autumn,2026-09-03,2026-12-18\n"
    resp = client.put("/api/calendar/term-dates", json={"format": "csv", "content": content},
                      headers=accounts["admin"].headers)
    assert resp.status_code == 200, resp.get_json()


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:30:00-01:00", "1850-01-01T00:00:00Z"])
def test_instants_outside_any_calendar_are_refused_on_their_field_not_500(client, accounts, when):
    """A valid ISO 8601 time whose UTC value is outside Python's range overflowed when stored: a 500."""
    sup = accounts["supervisor"]
    case = create_case(client, sup)
    resp = client.post("/api/referrals", json={**REFERRAL, "child": CHILD, "received_at": when}, headers=sup.headers)
    assert _problem(resp, 422)["field"] == "received_at"
    resp = client.post(f"/api/cases/{case['id']}/enquiries", json={"kind": "home_visit", "outcome": "no_answer",
                                                                   "occurred_at": when}, headers=sup.headers)
    assert _problem(resp, 422)["field"] == "occurred_at"

"""Dates of birth that cannot be a child, and the school-day counting rule stated where readers see it
(issue 7 item 18)."""
from __future__ import annotations

from tests.helpers import CHILD, create_case

PROBLEM = "application/problem+json"
REFERRAL = {"source": "school", "route": "form", "situation": "in_area_without_place"}


def _refused_on(resp, field: str) -> dict:
    assert resp.status_code == 422, resp.get_data(as_text=True)
    assert resp.content_type == PROBLEM
    problem = resp.get_json()
    assert problem["field"] == field, problem
    return problem


def test_dob_1900_is_refused_as_a_child_on_a_case(client, accounts):
    sup = accounts["supervisor"]
    problem = _refused_on(client.post("/api/cases", json={**CHILD, "dob": "1900-01-01"}, headers=sup.headers), "dob")
    assert "compulsory school age ended" in problem["detail"]
    assert client.get("/api/cases", headers=sup.headers).get_json() == []


def test_dob_1900_is_refused_as_a_child_in_a_referral(client, accounts):
    resp = client.post("/api/referrals", json={**REFERRAL, "child": {**CHILD, "dob": "1900-01-01"}},
                       headers=accounts["referrer"].headers)
    _refused_on(resp, "child.dob")


def test_changing_a_dob_to_one_no_child_could_have_is_refused(client, accounts):
    sup = accounts["supervisor"]
    case = create_case(client, sup)
    url = f"/api/cases/{case['id']}"
    for dob in ("1900-01-01", "2099-01-01"):
        resp = client.patch(url, json={"dob": dob}, headers={**sup.headers, "If-Match": f'"{case["version"]}"'})
        _refused_on(resp, "dob")
    assert client.get(url, headers=sup.headers).get_json()["dob"] == CHILD["dob"]


def test_every_deadline_states_how_its_school_days_were_counted(client, accounts):
    sup = accounts["supervisor"]
    case = create_case(client, sup, exclusion_start="2026-11-02", place_offered_on="2026-11-02")
    conventions = {d["code"]: d["convention"] for d in case["deadlines"]}
    assert set(conventions) >= {"ao_consulted", "referral_due", "earliest_removal_from_roll", "place_acceptance",
                                "exclusion_sixth_day", "compulsory_school_age_ends"}
    assert "school day 10 counting the first day of absence as day 1" in conventions["referral_due"]
    assert "school day 6 counting the first day of exclusion as day 1" in conventions["exclusion_sixth_day"]
    assert "not counting the day itself" in conventions["place_acceptance"]
    assert "calendar date" in conventions["compulsory_school_age_ends"]


def test_the_counting_convention_is_in_the_openapi_description(client):
    spec = client.get("/api/openapi.json").get_json()
    convention = spec["components"]["schemas"]["Deadline"]["properties"]["convention"]
    assert "as day 1" in convention["description"] and "own day" in convention["description"]

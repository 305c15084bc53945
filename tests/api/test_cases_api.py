"""The case resource over HTTP: create, read with ETag, update with If-Match, list with filters."""
from tests.helpers import assign, create_case


def test_create_then_read_with_etag(client, accounts):
    sup = accounts["supervisor"]
    case = create_case(client, sup)
    resp = client.get(f"/api/cases/{case['id']}", headers=sup.headers)
    assert resp.status_code == 200
    assert resp.headers["ETag"] == '"1"'
    body = resp.get_json()
    assert body["reference"].startswith("CME-")
    assert body["compulsory_school_age"] == {"starts": "2021-03-31", "ends": "2032-06-25",
                                             "applies_today": True}
    assert {d["code"] for d in body["deadlines"]} >= {"ao_consulted", "referral_due"}


def test_update_needs_if_match_and_refuses_stale(client, accounts):
    sup = accounts["supervisor"]
    case = create_case(client, sup)
    url = f"/api/cases/{case['id']}"
    assert client.patch(url, json={"gender": "female"}, headers=sup.headers).status_code == 428
    ok = client.patch(url, json={"gender": "female"}, headers={**sup.headers, "If-Match": '"1"'})
    assert ok.status_code == 200 and ok.headers["ETag"] == '"2"'
    stale = client.patch(url, json={"gender": "male"}, headers={**sup.headers, "If-Match": '"1"'})
    assert stale.status_code == 412
    assert stale.content_type == "application/problem+json"
    assert client.get(url, headers=sup.headers).get_json()["gender"] == "female"


def test_invalid_field_is_a_problem_naming_the_field(client, accounts):
    resp = client.post("/api/cases", json={"first_name": "A", "last_name": "B", "dob": "not a date"},
                       headers=accounts["supervisor"].headers)
    assert resp.status_code == 422
    problem = resp.get_json()
    assert problem["field"] == "dob" and problem["type"].endswith("/invalid-input")


def test_bad_upn_refused_and_nothing_written(client, accounts):
    sup = accounts["supervisor"]
    resp = client.post("/api/cases", json={**create_case.__globals__["child"](), "upn": "B80120000500A"},
                       headers=sup.headers)
    assert resp.status_code == 422 and resp.get_json()["field"] == "upn"
    listing = client.get("/api/cases", headers=sup.headers)
    assert listing.get_json() == []


def test_officer_sees_only_assigned_cases(client, accounts):
    sup, officer = accounts["supervisor"], accounts["officer"]
    mine = create_case(client, sup)
    other = create_case(client, sup, first_name="Other")
    assign(client, sup, mine["id"], officer.id)
    listed = client.get("/api/cases", headers=officer.headers).get_json()
    assert [c["id"] for c in listed] == [mine["id"]]
    assert client.get(f"/api/cases/{other['id']}", headers=officer.headers).status_code == 404


def test_list_filters_and_pagination(client, accounts):
    sup = accounts["supervisor"]
    for i in range(5):
        create_case(client, sup, first_name=f"Child{i}")
    resp = client.get("/api/cases?page=2&page_size=2", headers=sup.headers)
    assert [c["first_name"] for c in resp.get_json()] == ["Child2", "Child3"]
    assert '"total": 5' in resp.headers["X-Pagination"]
    assert client.get("/api/cases?status=closed", headers=sup.headers).get_json() == []
    overdue = client.get("/api/cases?overdue=true", headers=sup.headers).get_json()
    assert len(overdue) == 5 and all("ao_consulted" in c["overdue"] for c in overdue)

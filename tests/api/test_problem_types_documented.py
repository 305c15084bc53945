"""Every problem type the API answers with is the catalogue's (`sync.problems`), documented alike in PROTOCOL.md
and in the served OpenAPI document; one type has one title wherever it comes from."""
from __future__ import annotations

from werkzeug.exceptions import ImATeapot

from server.api.problems import http_problem
from sync.problems import CATALOGUE, PROBLEM_TYPE_BASE
from tests.unit.sync.test_problem_catalogue import protocol_md_types


def served_problem_types(client) -> dict[str, dict]:
    spec = client.get("/api/openapi.json").get_json()
    listing = spec["components"]["schemas"]["Problem"]["properties"]["type"]["x-problem-types"]
    return {entry["type"].removeprefix(PROBLEM_TYPE_BASE): entry for entry in listing}


def test_openapi_and_protocol_md_document_the_same_catalogue(client):
    served = served_problem_types(client)
    sent = {code for code, p in CATALOGUE.items() if p.sent}
    assert set(served) == sent
    for code, entry in served.items():
        assert (entry["title"], entry["status"]) == (CATALOGUE[code].title, CATALOGUE[code].status), code
    documented = protocol_md_types()
    assert set(documented) == set(CATALOGUE) and sent <= set(documented)


def test_a_routing_404_and_a_domain_404_share_one_title(client, accounts):
    """Before, werkzeug's "Not Found" and the register's "Not found" were two titles for one type."""
    routing = client.get("/api/no-such-route").get_json()
    domain = client.get("/api/cases/999999", headers=accounts["supervisor"].headers).get_json()
    assert routing["type"] == domain["type"] == CATALOGUE["not-found"].type
    assert routing["title"] == domain["title"] == CATALOGUE["not-found"].title


def test_an_uncatalogued_http_refusal_is_the_generic_catalogued_type(app):
    with app.test_request_context("/api/anything"):
        resp = http_problem(ImATeapot())
    body = resp.get_json()
    assert resp.status_code == 418 and body["type"] == CATALOGUE["http-error"].type
    assert body["title"] == CATALOGUE["http-error"].title and "I'm a teapot" in body["detail"]


def test_every_problem_the_api_sent_in_this_test_is_catalogued(client, accounts):
    answers = [client.get("/api/no-such-route"), client.delete("/api/cases"),
               client.get("/api/cases"), client.post("/api/cases", data="{", content_type="application/json",
                                                     headers=accounts["supervisor"].headers)]
    for resp in answers:
        body = resp.get_json()
        code = body["type"].removeprefix(PROBLEM_TYPE_BASE)
        assert code in CATALOGUE and (body["title"], resp.status_code) == (CATALOGUE[code].title,
                                                                           CATALOGUE[code].status), body

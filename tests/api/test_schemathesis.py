"""Property-based tests of the whole HTTP API from its own OpenAPI document (schemathesis v4, in-process WSGI).

Every operation is called with generated input, authenticated as a supervisor (the whole register) and as an
officer (one assigned case), and every response must be a non-5xx that conforms to the documented status codes,
content types, headers and schemas — errors included, which are RFC 9457 problem details
(`application/problem+json`, DESIGN.md "Layout"). Bounded for CI: MAX_EXAMPLES per operation and role.

schemathesis' own pytest loader (`schemathesis.pytest.from_fixture`) does not run under pytest 9 (it sets
`Node._nodeid`), so each operation is driven here directly: one pytest test per operation and role, on its own
database, with a Hypothesis test built from `APIOperation.as_strategy()`.
"""
from __future__ import annotations

import tempfile
import warnings

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from server.app import create_app
from tests.helpers import assign, create_case

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
MAX_EXAMPLES = 25
HYPOTHESIS = settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                             HealthCheck.data_too_large])


def _operations() -> list[tuple[str, str]]:
    """(METHOD, path) of every documented operation; the spec needs no database, so a throwaway app serves."""
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        app = create_app({"DATABASE_URL": f"sqlite:///{tmp}/spec.sqlite3", "BLOB_DIR": tmp, "TESTING": True})
        spec = app.test_client().get("/api/openapi.json").get_json()
        app.extensions["cme"]["engine"].dispose()
    return [(method.upper(), path) for path, item in spec["paths"].items()
            for method in item if method in ("get", "put", "post", "patch", "delete")]


OPERATIONS = _operations()


@pytest.fixture
def seeded(client, accounts):
    """A small register for generated ids to land on: cases 1-3 (case 1 with a CP alert, assigned to the officer)
    and term dates for 2026-27."""
    sup = accounts["supervisor"]
    first = create_case(client, sup, cp=True)
    create_case(client, sup, first_name="Second")
    create_case(client, sup, first_name="Third", current_address=None, carers=[])
    assign(client, sup, first["id"], accounts["officer"].id)
    csv = "academic_year,name,start,end\n2026-27,Autumn,2026-09-02,2026-12-18\n"
    resp = client.put("/api/calendar/term-dates", json={"format": "csv", "content": csv},
                      headers=accounts["admin"].headers)
    assert resp.status_code == 200
    return accounts


def _fresh_token(app, account) -> dict[str, str]:
    from server.adapters.access_models import User
    from server.service.security import issue_token

    with app.extensions["cme"]["uow"].transaction() as session:
        return {"Authorization": f"Bearer {issue_token(session, session.get(User, account.id)).token}"}


def fuzz(app, account, method: str, path: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    operation = schema[path][method]
    # Logout revokes the token it carries, so each logout gets its own; everything else uses the role's token.
    own_token = path == "/api/auth/logout"

    @HYPOTHESIS
    @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE))
    def check(case):
        headers = _fresh_token(app, account) if own_token else account.headers
        response = case.call(headers=headers)
        case.validate_response(response, checks=CHECKS, headers=headers)

    check()


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
@pytest.mark.parametrize("role", ["supervisor", "officer"])
def test_operation_conforms(app, seeded, role, method, path):
    """No 5xx and every response as documented, for a supervisor (whole register) and an officer (assigned
    cases only; the rest 403/404)."""
    fuzz(app, seeded[role], method, path)

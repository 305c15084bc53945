"""Property-based tests of the whole HTTP API from its own OpenAPI document (schemathesis v4, in-process WSGI).

Every operation is called with generated input, authenticated as an officer (one assigned case) and as a
supervisor (the whole register), and every response must be a non-5xx that conforms to the documented status
codes, content types, headers and schemas — errors included, which are RFC 9457 problem details
(`application/problem+json`, DESIGN.md "Layout").

schemathesis' own pytest loader (`schemathesis.pytest.from_fixture`) does not run under pytest 9 (it sets
`Node._nodeid`), so each operation is driven here directly: one pytest test per role and operation, with a
Hypothesis test built from `APIOperation.as_strategy()`. All of them share one app on its own database (module
scope), seeded once, so that the run stays within a CI budget; state left by one operation (a closed case, an
ended assignment) is just more input for the next. Officers run first, before supervisors move their case on.
"""
from __future__ import annotations

import os
import shutil
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
from tests.conftest import ROLES, Account
from tests.helpers import assign, create_case

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
EXAMPLES = {"supervisor": 25, "officer": 10}  # per operation; the officer run is mostly about 403/404 shapes


def _settings(role: str) -> settings:
    return settings(max_examples=EXAMPLES[role], deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                           HealthCheck.data_too_large])


def _spec() -> dict:
    """The OpenAPI document; building it needs no database, so a throwaway app serves."""
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        app = create_app({"DATABASE_URL": f"sqlite:///{tmp}/spec.sqlite3", "BLOB_DIR": tmp, "TESTING": True})
        spec = app.test_client().get("/api/openapi.json").get_json()
        app.extensions["cme"]["engine"].dispose()
    return spec


OPERATIONS = [(method.upper(), path) for path, item in _spec()["paths"].items()
              for method in item if method in ("get", "put", "post", "patch", "delete")]
RUNS = [("officer", m, p) for m, p in OPERATIONS if not p.startswith("/api/auth/")] + [
    ("supervisor", m, p) for m, p in OPERATIONS]  # sign-in and sign-out do not depend on the role


@pytest.fixture(scope="module")
def fuzz_app(database_template, pg_schema_factory, tmp_path_factory, password_hash):
    """An app on a database of its own (a copy of the migrated SQLite template, or a fresh PostgreSQL schema)."""
    kind, template = database_template
    tmp = tmp_path_factory.mktemp("fuzz")
    if kind == "postgresql":
        url = pg_schema_factory(os.environ["CME_TEST_DATABASE_URL"])
    else:
        shutil.copy(template, tmp / "cme.sqlite3")
        url = f"sqlite:///{tmp / 'cme.sqlite3'}"
    app = create_app({"DATABASE_URL": url, "BLOB_DIR": str(tmp / "blobs"), "TESTING": True})
    yield app
    app.extensions["cme"]["engine"].dispose()


def _accounts(app, password_hash) -> dict[str, Account]:
    from server.adapters.access_models import User
    from server.service.clock import utcnow
    from server.service.security import issue_token

    out: dict[str, Account] = {}
    with app.extensions["cme"]["uow"].transaction() as unit:
        session = unit.session
        for name, role in ROLES.items():
            user = User(username=name, display_name=f"Test {name}", role=role.value,
                        password_hash=password_hash, active=True, created_at=utcnow())
            session.add(user)
            unit.flush()
            out[name] = Account(user.id, name, role, issue_token(unit, user).token)
    return out


@pytest.fixture(scope="module")
def seeded(fuzz_app, password_hash):
    """A small register for generated ids to land on: cases 1-3 (case 1 with a CP alert, assigned to the officer)
    and term dates for 2026-27. Returns the accounts."""
    accounts = _accounts(fuzz_app, password_hash)
    client = fuzz_app.test_client()
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


@pytest.fixture(scope="module")
def api_schema(fuzz_app, seeded):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return schemathesis.openapi.from_wsgi("/api/openapi.json", fuzz_app)


@pytest.fixture
def cheap_unknown_user_hash(monkeypatch):
    """Generated usernames are unknown, and sign-in checks them against a dummy Argon2 hash (so that timing does
    not reveal which usernames exist); a cheap dummy keeps login fuzzing fast without changing what it checks."""
    from server.service import security

    monkeypatch.setattr(security, "_DUMMY_HASH",
                        security.PasswordHasher(time_cost=1, memory_cost=64, parallelism=1).hash("dummy"))


def _fresh_token(app, account: Account) -> dict[str, str]:
    from server.adapters.access_models import User
    from server.service.security import issue_token

    with app.extensions["cme"]["uow"].transaction() as unit:
        session = unit.session
        return {"Authorization": f"Bearer {issue_token(unit, session.get(User, account.id)).token}"}


@pytest.mark.parametrize(("role", "method", "path"), RUNS, ids=[f"{r}-{m} {p}" for r, m, p in RUNS])
def test_operation_conforms(fuzz_app, api_schema, seeded, cheap_unknown_user_hash, role, method, path):
    """No 5xx and every response as documented (status, content type, headers, body schema)."""
    account = seeded[role]
    operation = api_schema[path][method]
    own_token = path == "/api/auth/logout"  # logout revokes the token it carries: give it one of its own

    @_settings(role)
    @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE))
    def check(case):
        headers = _fresh_token(fuzz_app, account) if own_token else account.headers
        response = case.call(headers=headers)
        case.validate_response(response, checks=CHECKS, headers=headers)

    check()


def test_error_responses_are_documented_as_problem_json(api_schema):
    """DESIGN.md: errors on the wire are RFC 9457 problem details; the spec must say so, or clients and contract
    tests reject every error the API sends."""
    raw = api_schema.raw_schema
    for name in ("DEFAULT_ERROR", "UNPROCESSABLE_ENTITY"):
        content = raw["components"]["responses"][name]["content"]
        assert list(content) == ["application/problem+json"], name
    assert raw["paths"]["/api/cases"]["get"]["responses"]["default"] == {"$ref": "#/components/responses/DEFAULT_ERROR"}

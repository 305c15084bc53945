"""schemathesis with authentication: a stateful run over the whole API, and the ignored-auth check on every
operation that declares security.

The state machine comes from `schema.as_state_machine()` (schemathesis v4), which infers links between
operations from response and parameter names (`POST /api/cases` -> `GET /api/cases/{case_id}`, `GET /api/actions`
-> `POST /api/actions/{action_id}/acknowledge`, ...; see `test_links_were_inferred`), so the spec needs no
hand-written links. It runs in-process (WSGI) as a supervisor; sync operations, which only a device may call,
carry the officer's device token instead. Every response must be a non-5xx that conforms to the spec, and
schemathesis' `ignored_auth` check probes each successful step without and with a bogus token. Each scenario
starts from a freshly seeded database, so that Hypothesis can replay and shrink one (its choices depend on what
earlier responses returned). Bounded for CI: 15 scenarios of at most 6 steps.

`ignored_auth` only says something about a 2xx, so it is also run deliberately: one known-good call per secured
operation (built by the access matrix), then the check's own probes (no token, an invalid token) must be refused.
"""
from __future__ import annotations

import re
import warnings

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from sqlalchemy import text

from server.adapters.access_models import User
from server.adapters.models import Base
from server.service.security import issue_token
from tests.api.test_security_matrix import (  # noqa: F401  (`matrix` is the shared module-scoped fixture)
    POLICY, SPEC, SPEC_OPERATIONS, Rule, add_accounts, build_call, expected, matrix,
)

CONFORMANCE = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
               response_schema_conformance]
STATEFUL = settings(max_examples=15, stateful_step_count=6, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))
# Left out of the stateful run, with the reason; each has a regression test that fails (xfail, strict) until fixed.
# (Push was left out while one bad generated op failed the whole push; each op is now judged alone:
# tests/api/test_attack_push.py.)
STATEFUL_EXCLUDED: dict[str, str] = {}
SECURED = [(m, p) for m, p in SPEC_OPERATIONS if SPEC["paths"][p][m.lower()].get("security")]


@pytest.fixture(scope="module")
def api_schema(matrix):
    matrix.current()  # seed: two cases with alerts, assignments, devices and review items
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return schemathesis.openapi.from_wsgi("/api/openapi.json", matrix.app)


@pytest.fixture
def cheap_unknown_user_hash(monkeypatch):
    """Generated sign-ins name unknown users, checked against a dummy Argon2 hash; a cheap one keeps them fast."""
    from server.service import security

    monkeypatch.setattr(security, "_DUMMY_HASH",
                        security.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("dummy"))


def _fresh_token(matrix, role: str) -> str:
    with matrix.uow.transaction() as unit:
        session = unit.session
        return issue_token(unit, session.get(User, matrix.accounts[role].id)).token


def reset_database(matrix) -> None:
    """Empty every table and seed again: each scenario starts from the same register, so that Hypothesis can
    replay a scenario (its choices depend on earlier responses) and a failure shrinks."""
    engine = matrix.app.extensions["cme"]["engine"]
    tables = list(reversed(Base.metadata.sorted_tables))
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t.name}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(table.delete())
    matrix.accounts = add_accounts(matrix.app)
    matrix.consumed()
    matrix.current()


def test_stateful_run_as_supervisor(matrix, api_schema, cheap_unknown_user_hash):
    """Sequences of linked calls (create, read, change, assign, acknowledge, revoke...): no 5xx, all as documented,
    and no operation that declares security answers 2xx to a request without valid credentials."""
    schema = api_schema.exclude(method="POST", path=list(STATEFUL_EXCLUDED)) if STATEFUL_EXCLUDED else api_schema
    base = schema.as_state_machine()
    steps: list[tuple[str, int]] = []

    class Workflow(base):
        def setup(self):
            reset_database(matrix)
            self.world = matrix.current()

        def get_call_kwargs(self, case):
            world = self.world
            if case.operation.path.startswith("/api/sync/"):
                token = world.tokens["device"]  # only a device syncs
            elif case.operation.path == "/api/auth/logout":
                token = _fresh_token(matrix, "supervisor")  # sign-out revokes what it carries
            else:
                token = world.tokens["supervisor"]
            return {"headers": {"Authorization": f"Bearer {token}"}}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            steps.append((case.operation.label, response.status_code))
            case.validate_response(response, checks=[*CONFORMANCE, ignored_auth], headers=kwargs.get("headers"),
                                   transport_kwargs=kwargs, recorder=self.recorder)

    Workflow.run(settings=STATEFUL)
    matrix.consumed()  # the run may have revoked devices or closed cases: later tests get a fresh world
    assert steps, "the state machine made no calls"
    assert all(status < 500 for _, status in steps)
    linked = {label for label, status in steps if re.search(r"\{\w+}", label) and status < 300}
    assert linked, f"no linked operation ever succeeded: {sorted(set(steps))[:20]}"


def test_links_were_inferred(api_schema):
    """The stateful run relies on schemathesis' inference; if it finds nothing, links belong in the spec."""
    machine = api_schema.as_state_machine()
    targets = {link.target.label for entry in machine._transitions.operations.values() for link in entry.outgoing}
    for label in ("GET /api/cases/{case_id}", "PATCH /api/cases/{case_id}", "POST /api/cases/{case_id}/enquiries",
                  "POST /api/actions/{action_id}/acknowledge", "POST /api/assignments/{assignment_id}/end",
                  "POST /api/devices/{device_id}/revoke", "POST /api/review/{item_id}/resolve"):
        assert label in targets, label


def _succeeding(rule: Rule) -> tuple[str, str]:
    """A principal and object for which the policy says the call succeeds."""
    objects = [o for o in rule.objects if o in ("-", "A")] or list(rule.objects)
    principals = ("device", "retired_device") if rule.kind == "sync" else (
        "supervisor", "admin", "officer", "referrer", "integration")
    for principal in principals:
        for obj in objects:
            if expected(rule, principal, obj)[0] < 300:
                return principal, obj
    raise AssertionError("the policy lets nobody call this")


def _path_parameters(template: str, path: str) -> dict[str, str]:
    pattern = "^" + re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$"
    match = re.match(pattern, path)
    assert match, (template, path)
    return match.groupdict()


@pytest.mark.parametrize(("method", "path"), SECURED, ids=[f"{m} {p}" for m, p in SECURED])
def test_ignored_auth(matrix, api_schema, method, path):
    """schemathesis' ignored_auth: a call that succeeds with a valid token is repeated without a token and with an
    invalid one, and both must be refused (401/403)."""
    rule = POLICY[(method, path)]
    principal, obj = _succeeding(rule)
    call = build_call(matrix, method, path, principal, obj)
    operation = api_schema[path][method]
    case = operation.Case(path_parameters=_path_parameters(path, call.path), query=call.query or None,
                          headers=call.headers or None,
                          **({"body": call.json} if call.json is not None else {}))
    auth = {"Authorization": f"Bearer {matrix.current().tokens[principal]}"}
    response = case.call(headers=auth)
    assert response.status_code < 300, response.text
    case.validate_response(response, checks=[ignored_auth, not_a_server_error], headers=auth,
                           transport_kwargs={"headers": auth})
    if rule.consumes:
        matrix.consumed()


def test_every_secured_operation_is_probed():
    """The ignored-auth run covers every operation with `security`; only the public ones (sign-in, enrolment, a
    device signing in again) lack it."""
    public = {op for op in SPEC_OPERATIONS if POLICY[op].kind == "public"}
    assert set(SECURED) == set(SPEC_OPERATIONS) - public
    assert public == {("POST", "/api/auth/login"), ("POST", "/api/devices/enrol"),
                      ("POST", "/api/devices/{device_id}/renew")}

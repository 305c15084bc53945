"""Exploratory: run the fuzz helper with more examples and negative mode (not part of the suite)."""
import os
import pytest
from schemathesis import GenerationMode
from hypothesis import settings, HealthCheck, given
import schemathesis, warnings
from tests.api import test_schemathesis as T

N = int(os.environ.get("N", "100"))
MODE = GenerationMode(os.environ.get("MODE", "positive"))

@pytest.mark.parametrize(("method", "path"), T.OPERATIONS, ids=[f"{m} {p}" for m, p in T.OPERATIONS])
@pytest.mark.parametrize("role", ["supervisor", "officer", "admin"])
def test_explore(app, seeded, role, method, path, monkeypatch):
    from server.service import security
    monkeypatch.setattr(security, "_DUMMY_HASH", security.PasswordHasher(time_cost=1, memory_cost=64, parallelism=1).hash("x"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    op = schema[path][method]
    account = seeded[role]
    @settings(max_examples=N, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=op.as_strategy(generation_mode=MODE))
    def check(case):
        headers = T._fresh_token(app, account) if path == "/api/auth/logout" else account.headers
        r = case.call(headers=headers)
        case.validate_response(r, checks=T.CHECKS if MODE == GenerationMode.POSITIVE else [T.not_a_server_error, T.content_type_conformance, T.response_schema_conformance], headers=headers)
    check()

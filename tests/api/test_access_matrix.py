"""Who may do what, over HTTP: one table of endpoint x role x (assigned to the case or not) -> status.

Derived from server/domain/access.py GRANTS plus the per-object rule (DESIGN.md "Security model"): an officer
sees only the cases assigned to them, and a case they may not see is 404 (its existence is not revealed);
a role that may never do something gets 403 whatever the object; referrers submit and never read (§9.1,
DESIGN.md "Who uses it"); no valid token is 401.
"""
from __future__ import annotations

import itertools
import os
import shutil

import pytest

from server.adapters.models import Case
from server.app import create_app
from tests.conftest import ROLES as ACCOUNT_ROLES
from tests.conftest import Account
from tests.helpers import assign, child, create_case

ROLES = ("admin", "supervisor", "officer", "referrer", "integration")
CASE = "/api/cases/{case_id}"

TERM_CSV = "academic_year,name,start,end\n2026-27,Autumn,2026-09-02,2026-12-18\n"
NEW_USER = {"username": "new.officer.{n}", "display_name": "New Officer", "role": "officer",
            "password": "a long enough passphrase"}
REFERRAL = {"child": child(first_name="Referred"), "source": "school", "route": "form",
            "situation": "left_school_no_forwarding_school"}
LETTER = {"kind": "letter", "letter_type": "removal from roll"}


def by_role(method: str, path: str, body, expected: dict[str, int], *, officer_unassigned: int | None = None):
    """Rows for every role; the officer appears twice, assigned to the case and not."""
    rows = []
    for role in ROLES:
        status = expected[role]
        if role == "officer":
            rows.append((method, path, body, role, True, status))
            rows.append((method, path, body, role, False, status if officer_unassigned is None
                         else officer_unassigned))
        else:
            rows.append((method, path, body, role, False, status))
    return rows


def grants(ok: int, *allowed: str, default: int = 403) -> dict[str, int]:
    return {role: (ok if role in allowed else default) for role in ROLES}


ALL = ROLES
# Case-scoped reads: READ_CASE (officer, supervisor, admin, integration); an unassigned officer gets 404.
CASE_READ = grants(200, "admin", "supervisor", "officer", "integration")

MATRIX = [
    # the case resource
    *by_role("GET", CASE, None, CASE_READ, officer_unassigned=404),
    # a field an officer may change (the sync allow-list); officers refused other fields: test_attack_accounts
    *by_role("PATCH", CASE, {"contact_phone": "01632 960000"}, grants(200, "admin", "supervisor", "officer"),
             officer_unassigned=404),
    *by_role("GET", "/api/cases", None, CASE_READ),
    *by_role("GET", "/api/cases?status=referred&overdue=true", None, CASE_READ),
    *by_role("POST", "/api/cases", child(first_name="New"), grants(201, "admin", "supervisor")),
    # lifecycle: supervisors and admins only (§5.1/§5.6: the CME lead closes cases)
    *by_role("POST", CASE + "/transitions", {"target": "open"}, grants(200, "admin", "supervisor")),
    # enquiries
    *by_role("GET", CASE + "/enquiries", None, CASE_READ, officer_unassigned=404),
    *by_role("POST", CASE + "/enquiries", LETTER, grants(201, "admin", "supervisor", "officer"),
             officer_unassigned=404),
    # referrals
    *by_role("GET", CASE + "/referrals", None, CASE_READ, officer_unassigned=404),
    *by_role("POST", "/api/referrals", REFERRAL, grants(201, "admin", "supervisor", "officer", "referrer")),
    # a further referral on a known case: referrers refer by the child's details, never by probing case ids
    *by_role("POST", "/api/referrals", {**{k: v for k, v in REFERRAL.items() if k != "child"},
                                        "case_id": "{case_id}"},
             {**grants(201, "admin", "supervisor", "officer"), "referrer": 422}, officer_unassigned=404),
    # alerts and tasks (the case was created with cp=true, so it has a §11.4 alert)
    *by_role("GET", "/api/actions?case_id={case_id}", None, grants(200, "admin", "supervisor", "officer"),
             officer_unassigned=404),
    *by_role("GET", "/api/actions", None, grants(200, "admin", "supervisor", "officer")),
    *by_role("POST", "/api/actions/{action_id}/acknowledge", {"note": "called the social worker"},
             grants(200, "admin", "supervisor", "officer"), officer_unassigned=404),
    # assignments (supervisors assign visits; officers read their own)
    *by_role("POST", "/api/assignments", {"case_id": "{case_id}", "officer_id": "{officer_id}"},
             grants(201, "admin", "supervisor")),
    *by_role("GET", "/api/assignments", None, grants(200, "admin", "supervisor", "officer")),
    *by_role("GET", "/api/assignments?case_id={case_id}", None, grants(200, "admin", "supervisor", "officer")),
    *by_role("POST", "/api/assignments/{assignment_id}/end", None, grants(200, "admin", "supervisor")),
    *by_role("POST", "/api/assignments/{assignment_id}/reassign", {"officer_id": "{officer_id}"},
             grants(201, "admin", "supervisor")),
    # the statutory calendar: admins load term dates, everyone may read them and ask about school age
    *by_role("PUT", "/api/calendar/term-dates", {"format": "csv", "content": TERM_CSV}, grants(200, "admin")),
    *by_role("GET", "/api/calendar/term-dates", None, grants(200, *ALL)),
    *by_role("GET", "/api/calendar/school-age?dob=2016-03-14", None, grants(200, *ALL)),
    # users: admins; supervisors may list (officers, to assign visits)
    *by_role("POST", "/api/users", NEW_USER, grants(201, "admin")),
    *by_role("GET", "/api/users", None, grants(200, "admin", "supervisor")),
    *by_role("PUT", "/api/users/{officer2_id}/active", {"active": False}, grants(200, "admin")),
    # the audit log: supervisors and admins
    *by_role("GET", "/api/audit", None, grants(200, "admin", "supervisor")),
    *by_role("GET", "/api/audit?case_id={case_id}", None, grants(200, "admin", "supervisor")),
]


def _ids(row) -> str:
    method, path, _, role, assigned, status = row
    return f"{method} {path} {role}{'+assigned' if role == 'officer' and assigned else ''} -> {status}"


def make_world(client, accounts, spare: Account, n: int = 0) -> dict:
    """A case with a CP alert (§11.4), assigned to the `spare` officer, whose assignment end/reassign act on and
    whose account is the one an admin disables."""
    sup = accounts["supervisor"]
    case = create_case(client, sup, cp=True)
    other = assign(client, sup, case["id"], spare.id)
    actions = client.get(f"/api/actions?case_id={case['id']}", headers=sup.headers).get_json()
    assert [a["code"] for a in actions] == ["alert_social_worker"]
    return {"case_id": case["id"], "action_id": actions[0]["id"], "assignment_id": other["id"],
            "officer_id": accounts["officer"].id, "officer2_id": spare.id, "n": n}


@pytest.fixture
def world(client, accounts):
    return make_world(client, accounts, accounts["officer2"])


# The matrix shares one app and database (module scope) so its ~150 rows stay cheap; each row gets a case,
# alert, assignment and spare officer of its own, so rows cannot see each other's effects.

def _add_user(app, password_hash: str, name: str, role) -> Account:
    from server.adapters.access_models import User
    from server.service.clock import utcnow
    from server.service.security import issue_token

    with app.extensions["cme"]["uow"].transaction() as unit:
        session = unit.session
        user = User(username=name, display_name=f"Test {name}", role=role.value, password_hash=password_hash,
                    active=True, created_at=utcnow())
        session.add(user)
        unit.flush()
        return Account(user.id, name, role, issue_token(unit, user).token)


@pytest.fixture(scope="module")
def shared_app(database_template, pg_schema_factory, tmp_path_factory):
    """An app on a database of its own: a copy of the migrated SQLite template, or a fresh PostgreSQL schema."""
    kind, template = database_template
    tmp = tmp_path_factory.mktemp("matrix")
    if kind == "postgresql":
        url = pg_schema_factory(os.environ["CME_TEST_DATABASE_URL"])
    else:
        shutil.copy(template, tmp / "cme.sqlite3")
        url = f"sqlite:///{tmp / 'cme.sqlite3'}"
    app = create_app({"DATABASE_URL": url, "BLOB_DIR": str(tmp / "blobs"), "TESTING": True})
    yield app
    app.extensions["cme"]["engine"].dispose()


@pytest.fixture(scope="module")
def shared_accounts(shared_app, password_hash) -> dict[str, Account]:
    return {name: _add_user(shared_app, password_hash, name, role) for name, role in ACCOUNT_ROLES.items()}


_row_numbers = itertools.count(1)


@pytest.fixture
def row_world(shared_app, shared_accounts, password_hash):
    n = next(_row_numbers)
    spare = _add_user(shared_app, password_hash, f"spare.officer.{n}", ACCOUNT_ROLES["officer2"])
    return make_world(shared_app.test_client(), shared_accounts, spare, n)


def fill(value, ids: dict):
    """Substitute "{name}" placeholders in a path or body (whole-string placeholders become ints)."""
    if isinstance(value, str):
        if value.startswith("{") and value.endswith("}") and value[1:-1] in ids:
            return ids[value[1:-1]]
        return value.format(**ids)
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, ids) for v in value]
    return value


def case_version(uow, case_id: int) -> int:
    with uow.transaction() as unit:
        session = unit.session
        return session.get(Case, case_id).version


@pytest.mark.parametrize(("method", "path", "body", "role", "assigned", "expected"), MATRIX,
                         ids=[_ids(r) for r in MATRIX])
def test_access_matrix(shared_app, shared_accounts, row_world, method, path, body, role, assigned, expected):
    client, accounts, world = shared_app.test_client(), shared_accounts, row_world
    if assigned:
        assign(client, accounts["supervisor"], world["case_id"], accounts["officer"].id)
    headers = dict(accounts[role].headers)
    if method == "PATCH":
        headers["If-Match"] = f'"{case_version(shared_app.extensions["cme"]["uow"], world["case_id"])}"'
    url = fill(path, world)
    resp = client.open(url, method=method, json=fill(body, world) if body is not None else None, headers=headers)
    assert resp.status_code == expected, resp.get_data(as_text=True)
    if expected >= 400:
        assert resp.content_type == "application/problem+json"
        problem = resp.get_json()
        assert problem["status"] == expected
        if expected == 403:
            assert problem["type"].endswith("/forbidden") and problem["rule"].startswith("role:")
        if expected == 404:
            assert problem["type"].endswith("/not-found")
    if role == "referrer" and expected < 400:
        # a referrer never receives register data: a receipt or the calendar, nothing about a child
        text = resp.get_data(as_text=True)
        assert "Quillfeather" not in text and "Nowhere Crescent" not in text


def test_not_found_hides_existence_from_officers(client, accounts, world):
    """An officer cannot tell an unassigned case from one that does not exist: both are the same 404."""
    officer = accounts["officer"]
    real = client.get(f"/api/cases/{world['case_id']}", headers=officer.headers)
    missing = client.get("/api/cases/987654", headers=officer.headers)
    assert real.status_code == missing.status_code == 404
    assert real.get_json()["detail"].replace(str(world["case_id"]), "N") == \
        missing.get_json()["detail"].replace("987654", "N")


def test_officer_listings_contain_only_assigned_cases(client, accounts, world):
    """DESIGN.md: officers "see only the cases assigned to them" — in lists, alerts and assignments too."""
    officer = accounts["officer"]
    assert client.get("/api/cases", headers=officer.headers).get_json() == []
    assert client.get("/api/actions", headers=officer.headers).get_json() == []
    assert client.get(f"/api/assignments?case_id={world['case_id']}", headers=officer.headers).get_json() == []
    assert client.get(f"/api/assignments?officer_id={world['officer2_id']}",
                      headers=officer.headers).get_json() == []
    listed = client.get(f"/api/cases?assigned_to={world['officer2_id']}", headers=officer.headers).get_json()
    assert listed == []


def test_ended_assignment_removes_access(client, accounts, world):
    """When a case leaves an officer's scope (assignment ended), the officer gets 404 from then on."""
    sup, officer = accounts["supervisor"], accounts["officer"]
    mine = assign(client, sup, world["case_id"], officer.id)
    url = f"/api/cases/{world['case_id']}"
    assert client.get(url, headers=officer.headers).status_code == 200
    assert client.post(f"/api/assignments/{mine['id']}/end", headers=sup.headers).status_code == 200
    assert client.get(url, headers=officer.headers).status_code == 404
    assert client.post(f"{url}/enquiries", json=LETTER, headers=officer.headers).status_code == 404


def test_referrer_reads_nothing_of_any_case(client, accounts, world):
    """DESIGN.md: referrers "submit; they never read the register" — 403 on every case read, even a case
    they referred themselves."""
    ref = accounts["referrer"]
    receipt = client.post("/api/referrals", json=REFERRAL, headers=ref.headers)
    assert receipt.status_code == 201 and "case_id" not in receipt.get_json()
    for url in ("/api/cases", f"/api/cases/{world['case_id']}", f"/api/cases/{world['case_id']}/enquiries",
                f"/api/cases/{world['case_id']}/referrals", "/api/actions", "/api/assignments", "/api/audit",
                "/api/users"):
        resp = client.get(url, headers=ref.headers)
        assert resp.status_code == 403, url


# --- authentication -------------------------------------------------------------------------------------------

ENDPOINTS = sorted({(m, p): b for m, p, b, *_ in MATRIX}.items())


@pytest.mark.parametrize("token", ["none", "invalid", "wrong-scheme"])
def test_no_valid_token_is_401(client, world, token):
    """Every endpoint of the register needs a valid bearer token; without one: 401, a problem, no data."""
    headers = {"none": {}, "invalid": {"Authorization": "Bearer not-a-real-token"},
               "wrong-scheme": {"Authorization": "Basic b2ZmaWNlcjpwYXNzd29yZA=="}}[token]
    for (method, path), body in ENDPOINTS:
        resp = client.open(fill(path, world), method=method, json=fill(body, world) if body is not None else None,
                           headers=headers)
        where = f"{method} {path}"
        assert resp.status_code == 401, where
        assert resp.content_type == "application/problem+json", where
        assert resp.get_json()["type"].endswith("/unauthenticated"), where
        assert resp.headers.get("WWW-Authenticate", "").startswith("Bearer"), where  # RFC 9110 §15.5.2


def test_revoked_token_is_401(client, accounts, world):
    """Logout revokes the token at once: its next use is 401 (DESIGN.md "revocable, checked on every request")."""
    sup = accounts["supervisor"]
    url = f"/api/cases/{world['case_id']}"
    assert client.get(url, headers=sup.headers).status_code == 200
    assert client.post("/api/auth/logout", headers=sup.headers).status_code == 204
    for method, path in (("GET", url), ("GET", "/api/cases"), ("GET", "/api/audit")):
        resp = client.open(path, method=method, headers=sup.headers)
        assert resp.status_code == 401, path
    assert client.post("/api/auth/logout", headers=sup.headers).status_code == 401  # cannot revoke twice


def test_disabled_account_token_is_401(client, accounts, world):
    """An admin disabling an account stops its tokens at once."""
    admin, officer = accounts["admin"], accounts["officer"]
    assign(client, accounts["supervisor"], world["case_id"], officer.id)
    url = f"/api/cases/{world['case_id']}"
    assert client.get(url, headers=officer.headers).status_code == 200
    resp = client.put(f"/api/users/{officer.id}/active", json={"active": False}, headers=admin.headers)
    assert resp.status_code == 200 and resp.get_json()["active"] is False
    assert client.get(url, headers=officer.headers).status_code == 401

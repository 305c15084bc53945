"""The access matrix, generated from the OpenAPI document: every operation x every principal x own/other object.

Rows come from the spec the app serves (`/api/openapi.json`), so a new endpoint cannot slip in unreviewed: an
operation the POLICY table below does not cover fails its rows and `test_policy_covers_every_operation`. Routes
kept out of the spec (tus uploads, photos) have a table of their own, and `test_every_api_route_is_reviewed`
fails on any /api route in neither.

Expected outcomes come from POLICY (operation -> permission and per-object rule), GRANTS in
server/domain/access.py (permission -> roles; pinned by `test_grants_are_as_reviewed`) and DESIGN.md "Security
model": no, expired or revoked token -> 401; a revoked device's token -> 403 device-revoked; a retired device's
token -> 403 device-retired except where it may still push and say goodbye; a device token on the web API (beyond
sync, uploads and photo fetches) -> 403; a role without the grant -> 403; an officer (or their device) on a case
not assigned to them -> 404; anything else succeeds. Never a 5xx.

Principals: the six roles (two officers), `device` (the officer's enrolled device), and the token states `none`,
`expired` (expires_at in the past, set in the database), `revoked` (signed out), `revoked_device` and
`retired_device` (devices of the officer). Objects: A belongs to `officer` (case A assigned to them, their alert,
assignment, device, review item, upload, photo), B to `officer2`.

Speed: one app and database for the module; a "world" (two cases with their objects, devices and tokens) is
shared by rows until a row that consumes something (a transition, a revoked device, a signed-out token...)
succeeds, and the next row gets a fresh world.
"""
from __future__ import annotations

import base64
import hashlib
import itertools
import os
import re
import shutil
import tempfile
import uuid
import warnings
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from argon2 import PasswordHasher

from server.adapters.access_models import ApiToken, User
from server.adapters.models import Case
from server.adapters.sync_models import Device, ReviewItem
from server.app import create_app
from server.domain.access import GRANTS, Permission
from server.domain.vocabulary import Role
from server.service.clock import utcnow
from server.service.security import issue_token, token_digest
from sync.cursor import holdings_digest
from tests.conftest import PASSWORD
from tests.conftest import ROLES as ROLE_OF
from tests.helpers import child
from tests.sync_helpers import PROTOCOL, visit_op

P = Permission
ROLE_NAMES = tuple(ROLE_OF)  # admin, supervisor, officer, officer2, referrer, integration
TOKEN_STATES = ("none", "expired", "revoked", "revoked_device", "retired_device")
PRINCIPALS = (*ROLE_NAMES, "device", *TOKEN_STATES)
AB = ("A", "B")
OWNER = {"A": "officer", "B": "officer2"}
MARKER = {"A": "Aardwolf", "B": "Bandicoot"}  # the surnames of the children of cases A and B
TUS = {"Tus-Resumable": "1.0.0", **PROTOCOL}
TERM_CSV = "academic_year,name,start,end\n2026-27,Autumn,2026-09-02,2026-12-18\n"
REFERRAL = {"source": "school", "route": "form", "situation": "left_school_no_forwarding_school"}


# --- the policy ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    """How one operation is guarded.

    kind: "user" (a bearer token of a user or device), "sync" (a device token only), "public" (credentials in
    the body; the token is irrelevant), "any" (any valid token: sign-out), "owner" (tus: only the uploader).
    grant: the GRANTS permission whose roles may call it (for "public": the roles whose credentials succeed).
    per_case: an officer on object B (not assigned to them) gets 404, not the case.
    objects: ("-",) when there is no object; "-" alongside A/B is the variant without one (e.g. a list).
    also / override: roles allowed beyond GRANTS, and documented special outcomes per (role, object).
    retired: what a retired device's token gets (None: 403 device-retired).
    consumes: a success uses up something of the world (the next row gets a fresh one).
    device_ok: a device token is accepted ("user"/"any" rows); otherwise the web API refuses it with 403 (device
    tokens are for sync, uploads and photo fetches only).
    """

    kind: str
    grant: Permission | None
    ok: int
    per_case: bool = False
    objects: tuple[str, ...] = ("-",)
    also: frozenset[str] = frozenset()
    override: dict = field(default_factory=dict)
    retired: tuple[int, str | None] | None = None
    consumes: bool = False
    device_ok: bool = False


def user(grant, ok, **kw) -> Rule:
    return Rule("user", grant, ok, **kw)


def case_op(grant, ok, **kw) -> Rule:
    return Rule("user", grant, ok, per_case=True, objects=AB, **kw)


RETIRED_REFUSED = (403, "device-retired")

POLICY: dict[tuple[str, str], Rule] = {
    ("POST", "/api/auth/login"): Rule("public", None, 200),  # every role signs in
    ("POST", "/api/auth/logout"): Rule("any", None, 204, retired=(204, None), consumes=True, device_ok=True),
    # everyone changes their own password (here to the same one, so later rows still sign in)
    ("POST", "/api/auth/password"): Rule("user", None, 204, also=frozenset(ROLE_NAMES)),
    ("GET", "/api/cases"): user(P.READ_CASE, 200),
    ("POST", "/api/cases"): user(P.CREATE_CASE, 201),
    ("GET", "/api/cases/{case_id}"): case_op(P.READ_CASE, 200),
    ("PATCH", "/api/cases/{case_id}"): case_op(P.UPDATE_CASE, 200),
    ("POST", "/api/cases/{case_id}/transitions"): case_op(P.TRANSITION_CASE, 200, consumes=True),
    # "-": a new child; A/B: a further referral on a known case (referrers may not probe case ids: 422)
    ("POST", "/api/referrals"): Rule("user", P.SUBMIT_REFERRAL, 201, per_case=True, objects=("-", *AB),
                                    override={("referrer", "A"): (422, "invalid-input"),
                                              ("referrer", "B"): (422, "invalid-input")}),
    ("GET", "/api/cases/{case_id}/referrals"): case_op(P.READ_CASE, 200),
    # staff find a referral by the receipt a referrer quotes; one on a case they may not see is not found ([])
    ("GET", "/api/referrals"): user(P.READ_CASE, 200),
    ("POST", "/api/cases/{case_id}/enquiries"): case_op(P.RECORD_ENQUIRY, 201),
    ("GET", "/api/cases/{case_id}/enquiries"): case_op(P.READ_CASE, 200),
    ("GET", "/api/actions"): Rule("user", P.HANDLE_ACTIONS, 200, per_case=True, objects=("-", *AB)),
    ("POST", "/api/actions/{action_id}/acknowledge"): case_op(P.HANDLE_ACTIONS, 200, consumes=True),
    ("POST", "/api/assignments"): user(P.MANAGE_ASSIGNMENTS, 201, objects=AB),
    # officers read their own assignments: a filter on someone else's case is an empty list, not a 404
    ("GET", "/api/assignments"): user(P.READ_ASSIGNMENTS, 200, objects=("-", *AB)),
    ("POST", "/api/assignments/{assignment_id}/reassign"): user(P.MANAGE_ASSIGNMENTS, 201, objects=AB,
                                                                consumes=True),
    ("POST", "/api/assignments/{assignment_id}/end"): user(P.MANAGE_ASSIGNMENTS, 200, objects=AB, consumes=True),
    ("PUT", "/api/calendar/term-dates"): user(P.LOAD_TERM_DATES, 200),
    ("GET", "/api/calendar/term-dates"): user(P.READ_CALENDAR, 200),
    ("GET", "/api/calendar/school-age"): user(P.READ_CALENDAR, 200),
    ("POST", "/api/users"): user(P.MANAGE_USERS, 201),
    ("GET", "/api/users"): user(P.MANAGE_USERS, 200, also=frozenset({"supervisor"})),  # officers, to assign
    ("PUT", "/api/users/{user_id}/active"): user(P.MANAGE_USERS, 200, consumes=True),
    ("POST", "/api/users/{user_id}/password"): user(P.MANAGE_USERS, 204),
    ("GET", "/api/audit"): user(P.READ_AUDIT, 200, objects=("-", *AB)),
    ("POST", "/api/devices/enrol"): Rule("public", P.SYNC, 201),  # officers' credentials enrol; others 403
    # an officer signs their own device in again (its older tokens are revoked); others 403
    ("POST", "/api/devices/{device_id}/renew"): Rule("public", P.SYNC, 200, consumes=True),
    ("GET", "/api/devices"): user(P.MANAGE_DEVICES, 200),
    ("POST", "/api/devices/{device_id}/revoke"): user(P.MANAGE_DEVICES, 200, objects=AB, consumes=True),
    ("POST", "/api/devices/{device_id}/retire"): user(P.MANAGE_DEVICES, 200, objects=AB, consumes=True),
    ("POST", "/api/devices/{device_id}/resync"): user(P.MANAGE_DEVICES, 200, objects=AB),
    ("GET", "/api/sync/pull"): Rule("sync", P.SYNC, 200, retired=RETIRED_REFUSED),
    # a retired device still pushes what it holds; an op on a case out of its scope is kept (quarantined)
    ("POST", "/api/sync/push"): Rule("sync", P.SYNC, 200, objects=AB, retired=(200, None)),
    ("POST", "/api/sync/check"): Rule("sync", P.SYNC, 200, retired=RETIRED_REFUSED),
    # only a retired device says goodbye: an active one is told it is not retired
    ("POST", "/api/sync/goodbye"): Rule("sync", P.SYNC, 409, retired=(204, None), consumes=True),
    ("GET", "/api/review"): user(P.REVIEW, 200, objects=("-", *AB)),
    ("POST", "/api/review/{item_id}/resolve"): user(P.REVIEW, 200, objects=AB, consumes=True),
}

# Routes outside the OpenAPI document: tus speaks headers and bytes (server/api/uploads.py).
EXTRA_POLICY: dict[tuple[str, str], Rule] = {
    ("OPTIONS", "/api/uploads"): Rule("public", None, 204),  # tus discovery needs no authentication
    ("POST", "/api/uploads"): Rule("user", P.SYNC, 201, retired=(201, None), device_ok=True),  # evidence
    ("HEAD", "/api/uploads/{upload_id}"): Rule("owner", None, 200, objects=AB, retired=(200, None)),
    ("PATCH", "/api/uploads/{upload_id}"): Rule("owner", None, 204, objects=AB, retired=(204, None),
                                               consumes=True),
    ("DELETE", "/api/uploads/{upload_id}"): Rule("owner", None, 204, objects=AB, retired=(204, None),
                                                consumes=True),
    # whoever may see the case (404 for anyone else, referrers included: tests/api/test_uploads_tus.py)
    ("GET", "/api/photos/{photo_id}"): Rule("user", P.READ_CASE, 200, per_case=True, objects=AB, device_ok=True,
                                           override={("referrer", "A"): (404, "not-found"),
                                                     ("referrer", "B"): (404, "not-found")}),
}

# The roles behind GRANTS as reviewed with this table; a change to GRANTS must be reviewed here too.
REVIEWED_GRANTS = {
    "read_case": {"officer", "supervisor", "admin", "integration"},
    "create_case": {"supervisor", "admin"},
    "update_case": {"officer", "supervisor", "admin"},
    "transition_case": {"supervisor", "admin"},
    "submit_referral": {"referrer", "officer", "supervisor", "admin"},
    "record_enquiry": {"officer", "supervisor", "admin"},
    "handle_actions": {"officer", "supervisor", "admin"},
    "manage_assignments": {"supervisor", "admin"},
    "read_assignments": {"officer", "supervisor", "admin"},
    "load_term_dates": {"admin"},
    "read_calendar": {"officer", "supervisor", "admin", "integration", "referrer"},
    "manage_users": {"admin"},
    "read_audit": {"supervisor", "admin"},
    "sync": {"officer"},
    "manage_devices": {"supervisor", "admin"},
    "review": {"supervisor", "admin"},
}


def role_of(principal: str) -> str:
    """The account behind a principal: devices belong to `officer`."""
    return "officer" if principal in ("device", "revoked_device", "retired_device") else principal


def allowed(rule: Rule, role: str) -> bool:
    return role in rule.also or (rule.grant is not None and ROLE_OF[role] in GRANTS[rule.grant])


def expected(rule: Rule, principal: str, obj: str) -> tuple[int, str | None]:
    """(status, problem code or None for a success) for one row."""
    ok = (rule.ok, "conflict" if rule.ok == 409 else None)
    if rule.kind == "public":
        if principal in ROLE_NAMES and rule.grant is not None and not allowed(rule, principal):
            return 403, "forbidden"
        return ok  # credentials in the body decide (the officer's for token-state rows); the token does not
    if principal in ("none", "expired", "revoked"):
        return 401, "unauthenticated"
    if principal == "revoked_device":
        return 403, "device-revoked"
    if principal == "retired_device" and rule.kind != "owner":
        return rule.retired or RETIRED_REFUSED
    role = role_of(principal)
    if principal == "device" and rule.kind in ("user", "any") and not rule.device_ok:
        return 403, "forbidden"
    if rule.kind == "any":
        return ok
    if rule.kind == "owner":
        return (rule.retired or ok) if OWNER[obj] == role else (404, "not-found")
    if rule.kind == "sync":
        return ok if principal == "device" else (403, "forbidden")
    if (role, obj) in rule.override:
        return rule.override[(role, obj)]
    if not allowed(rule, role):
        return 403, "forbidden"
    if rule.per_case and obj in AB and ROLE_OF[role] == Role.OFFICER and OWNER[obj] != role:
        return 404, "not-found"
    return ok


# --- rows from the spec -------------------------------------------------------------------------------------

def _served(rule) -> set[str]:
    """The methods a URL rule serves on purpose (not Flask's automatic HEAD for a GET, or OPTIONS)."""
    methods = set(rule.methods) - {"OPTIONS"} if rule.provide_automatic_options else set(rule.methods)
    return methods - {"HEAD"} if "GET" in methods else methods


def _spec() -> dict:
    """The OpenAPI document and the app's /api routes; building them needs no database."""
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        app = create_app({"DATABASE_URL": f"sqlite:///{tmp}/spec.sqlite3", "BLOB_DIR": tmp, "TESTING": True})
        spec = app.test_client().get("/api/openapi.json").get_json()
        routes = {(method, re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule))
                  for rule in app.url_map.iter_rules() if rule.rule.startswith("/api") for method in _served(rule)}
        app.extensions["cme"]["engine"].dispose()
    spec["x-routes"] = sorted(routes)
    return spec


SPEC = _spec()
SPEC_OPERATIONS = sorted((method.upper(), path) for path, item in SPEC["paths"].items()
                         for method in item if method in ("get", "put", "post", "patch", "delete"))
NOT_API = {("GET", "/api/openapi.json"), ("GET", "/api/docs")}  # the document and its viewer


def _rows(operations, table) -> list[tuple]:
    rows = []
    for method, path in operations:
        rule = table.get((method, path))
        if rule is None:  # an operation nobody reviewed: one row that fails
            rows.append((method, path, "unreviewed", "-", None))
            continue
        for principal in PRINCIPALS:
            # a token in a bad state is tried once, on the officer's own object (where a good token succeeds)
            objects = rule.objects if principal not in TOKEN_STATES else ("A",) if "A" in rule.objects else ("-",)
            for obj in objects:
                rows.append((method, path, principal, obj, expected(rule, principal, obj)))
    return rows


ROWS = _rows(SPEC_OPERATIONS, POLICY)
EXTRA_ROWS = _rows(sorted(EXTRA_POLICY), EXTRA_POLICY)


def _id(row) -> str:
    method, path, principal, obj, want = row
    return f"{method} {path} {principal}{'' if obj == '-' else '/' + obj} -> {want[0] if want else '?'}"


# --- the world ------------------------------------------------------------------------------------------------

CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)  # sign-in rows stay fast; same checks


@dataclass
class Account:
    id: int
    username: str


@dataclass
class World:
    """Two cases and everything hanging off them, with a token for every principal."""

    case: dict[str, int]
    action: dict[str, int]
    assignment: dict[str, int]
    device: dict[str, int]
    review: dict[str, int]
    spare_id: int
    tokens: dict[str, str]
    upload: dict[str, str] = field(default_factory=dict)
    photo: dict[str, int] = field(default_factory=dict)


class Matrix:
    def __init__(self, app, accounts: dict[str, Account]) -> None:
        self.app, self.accounts = app, accounts
        self.client = app.test_client()
        self.uow = app.extensions["cme"]["uow"]
        self.world: World | None = None
        self.serial = itertools.count(1)

    def current(self) -> World:
        if self.world is None:
            self.world = self._build()
        return self.world

    def consumed(self) -> None:
        self.world = None

    def _post(self, url: str, body: dict, token: str) -> dict:
        resp = self.client.post(url, json=body, headers={"Authorization": f"Bearer {token}"})
        assert resp.status_code == 201, resp.get_json()
        return resp.get_json()

    def _build(self) -> World:
        n = next(self.serial)
        tokens = {}
        with self.uow.transaction() as unit:
            session = unit.session
            for name, account in self.accounts.items():
                tokens[name] = issue_token(unit, session.get(User, account.id)).token
            spare = User(username=f"spare.{n}", display_name="Spare", role="officer",
                         password_hash=CHEAP.hash(PASSWORD), active=True, created_at=utcnow())
            session.add(spare)
            unit.flush()
            spare_id = spare.id
        sup = tokens["supervisor"]
        case, action, assignment = {}, {}, {}
        for obj, owner in OWNER.items():
            case[obj] = self._post("/api/cases", child(last_name=MARKER[obj], cp=True), sup)["id"]
            assignment[obj] = self._post("/api/assignments", {"case_id": case[obj],
                                                              "officer_id": self.accounts[owner].id}, sup)["id"]
            alerts = self.client.get(f"/api/actions?case_id={case[obj]}", headers={"Authorization": f"Bearer {sup}"})
            action[obj] = alerts.get_json()[0]["id"]
        device, review = {}, {}
        with self.uow.transaction() as unit:
            session = unit.session
            officer = session.get(User, self.accounts["officer"].id)
            for obj, owner in OWNER.items():
                device[obj], token = self._device(unit, self.accounts[owner].id, "active")
                if obj == "A":
                    tokens["device"] = token
            _, tokens["revoked_device"] = self._device(unit, officer.id, "revoked")
            _, tokens["retired_device"] = self._device(unit, officer.id, "retired")
            for obj, owner in OWNER.items():
                item = ReviewItem(op_id=str(uuid.uuid4()), device_id=device[obj], officer_id=self.accounts[owner].id,
                                  case_id=case[obj], category="quarantined", reason="out_of_scope",
                                  detail="kept for review", op={"kind": "record_home_visit"}, created_at=utcnow(),
                                  open=True)
                session.add(item)
                unit.flush()
                review[obj] = item.id
        return World(case, action, assignment, device, review, spare_id, tokens)

    def _device(self, unit, officer_id: int, status: str) -> tuple[int, str]:
        now = utcnow()
        device = Device(officer_id=officer_id, name="matrix tablet", status=status, enrolled_at=now,
                        last_seen_at=now, offline_ttl_seconds=3600, scope_epoch=0)
        unit.session.add(device)
        unit.flush()
        return device.id, issue_token(unit, unit.session.get(User, officer_id), device_id=device.id).token

    # tokens in a state of their own, made for the row that uses them

    def token_for(self, principal: str, rule: Rule) -> str | None:
        world = self.current()
        if principal == "none":
            return None
        if principal not in ("expired", "revoked"):
            return world.tokens[principal]
        device = rule.kind in ("sync", "owner") or (rule.kind == "user" and rule.grant == P.SYNC)
        name = "officer" if device else next(
            (r for r in ("supervisor", "admin", "officer", "referrer", "integration") if allowed(rule, r)),
            "supervisor")
        with self.uow.transaction() as unit:
            session = unit.session
            issued = issue_token(unit, session.get(User, self.accounts[name].id),
                                 device_id=world.device["A"] if device else None)
        if principal == "expired":
            with self.uow.transaction() as unit:
                session = unit.session
                row = session.query(ApiToken).filter_by(token_hash=token_digest(issued.token)).one()
                row.expires_at = utcnow() - timedelta(minutes=1)
        else:
            resp = self.client.post("/api/auth/logout", headers={"Authorization": f"Bearer {issued.token}"})
            assert resp.status_code == 204
        return issued.token

    # objects made on demand: uploads and photos

    def upload_of(self, obj: str) -> str:
        world = self.current()
        if obj not in world.upload:
            token = world.tokens[OWNER[obj]]
            resp = self.client.post("/api/uploads", headers={
                **TUS, "Authorization": f"Bearer {token}", "Upload-Length": "3",
                "Upload-Metadata": _metadata(hashlib.sha256(b"abc").hexdigest())})
            assert resp.status_code == 201, resp.get_json()
            world.upload[obj] = resp.headers["Location"].rsplit("/", 1)[1]
        return world.upload[obj]

    def photo_of(self, obj: str) -> int:
        world = self.current()
        if obj not in world.photo:
            with self.uow.transaction() as session:
                _, token = self._device(session, self.accounts[OWNER[obj]].id, "active")
            headers = {**PROTOCOL, "Authorization": f"Bearer {token}"}
            data = os.urandom(64)
            sha = hashlib.sha256(data).hexdigest()
            url = self.client.post("/api/uploads", headers={
                **TUS, **headers, "Upload-Length": str(len(data)), "Upload-Metadata": _metadata(sha)}
            ).headers["Location"]
            sent = self.client.patch(url, data=data, headers={**TUS, **headers, "Upload-Offset": "0",
                                                              "Content-Type": "application/offset+octet-stream"})
            assert sent.status_code == 204
            visit = visit_op(world.case[obj])
            attach = {"op_id": str(uuid.uuid4()), "kind": "attach_photo", "case_id": world.case[obj],
                      "device_time": visit["device_time"],
                      "payload": {"visit_op_id": visit["op_id"], "sha256": sha, "size": len(data),
                                  "content_type": "image/jpeg"}}
            results = self.client.post("/api/sync/push", json={"ops": [visit, attach]}, headers=headers)
            world.photo[obj] = results.get_json()["results"][1]["result"]["photo_id"]
        return world.photo[obj]


def _metadata(sha256: str) -> str:
    def b64(text: str) -> str:
        return base64.b64encode(text.encode()).decode()
    return f"sha256 {b64(sha256)},content_type {b64('image/jpeg')},filename {b64('door.jpg')}"


# --- requests: a minimal valid call of each operation --------------------------------------------------------

@dataclass
class Call:
    path: str
    json: object = None
    query: dict = field(default_factory=dict)
    headers: dict = field(default_factory=dict)
    data: bytes | None = None


def _receipt(m: Matrix, case_id: int) -> str:
    """The receipt of a referral on the case (one is made if it has none): a lookup that finds case data."""
    from sqlalchemy import select

    from server.adapters.models import Referral
    from server.service.referrals import new_receipt

    with m.uow.transaction() as unit:
        session = unit.session
        found = session.scalar(select(Referral.receipt).where(Referral.case_id == case_id).limit(1))
        if found is None:
            found = new_receipt(unit)
            session.add(Referral(case_id=case_id, source="school", route="form", received_at=utcnow(),
                                 situation="left_school_no_forwarding_school", receipt=found))
        return found


def _version(m: Matrix, case_id: int) -> str:
    with m.uow.transaction() as unit:
        session = unit.session
        return f'"{session.get(Case, case_id).version}"'


def _case_filter(w: World, obj: str) -> dict:
    """A list's filter on object `obj`'s case, or none for the "-" variant."""
    return {} if obj == "-" else {"case_id": w.case[obj]}


def build_call(m: Matrix, method: str, path: str, principal: str, obj: str) -> Call:
    w = m.current()
    role = role_of(principal) if principal not in TOKEN_STATES[:3] else "officer"
    cid = w.case.get(obj)
    creds = {"username": m.accounts[role].username, "password": PASSWORD}
    calls = {
        ("POST", "/api/auth/login"): lambda: Call(path, creds),
        ("POST", "/api/auth/logout"): lambda: Call(path),
        ("GET", "/api/cases"): lambda: Call(path),
        ("POST", "/api/cases"): lambda: Call(path, child(first_name="Newly", last_name="Opened")),
        ("GET", "/api/cases/{case_id}"): lambda: Call(f"/api/cases/{cid}"),
        # a field an officer may change too (the sync allow-list); other fields are tests/api/test_attack_accounts
        ("PATCH", "/api/cases/{case_id}"): lambda: Call(f"/api/cases/{cid}", {"contact_phone": "01632 960000"},
                                                        headers={"If-Match": _version(m, cid)}),
        ("POST", "/api/cases/{case_id}/transitions"): lambda: Call(f"/api/cases/{cid}/transitions",
                                                                   {"target": "open"}),
        ("POST", "/api/referrals"): lambda: Call(path, {**REFERRAL, **({"child": child(first_name="Referred",
                                                                                       last_name="Newchild")}
                                                                       if obj == "-" else {"case_id": cid})}),
        ("GET", "/api/cases/{case_id}/referrals"): lambda: Call(f"/api/cases/{cid}/referrals"),
        ("GET", "/api/referrals"): lambda: Call(path, query={"receipt": _receipt(m, w.case["A"])}),
        ("POST", "/api/cases/{case_id}/enquiries"): lambda: Call(f"/api/cases/{cid}/enquiries",
                                                                 {"kind": "letter", "letter_type": "first letter"}),
        ("GET", "/api/cases/{case_id}/enquiries"): lambda: Call(f"/api/cases/{cid}/enquiries"),
        ("GET", "/api/actions"): lambda: Call(path, query=_case_filter(w, obj)),
        ("POST", "/api/actions/{action_id}/acknowledge"): lambda: Call(
            f"/api/actions/{w.action[obj]}/acknowledge", {"note": "called the social worker"}),
        ("POST", "/api/assignments"): lambda: Call(path, {"case_id": cid, "officer_id": w.spare_id}),
        ("GET", "/api/assignments"): lambda: Call(path, query=_case_filter(w, obj)),
        ("POST", "/api/assignments/{assignment_id}/reassign"): lambda: Call(
            f"/api/assignments/{w.assignment[obj]}/reassign", {"officer_id": w.spare_id}),
        ("POST", "/api/assignments/{assignment_id}/end"): lambda: Call(f"/api/assignments/{w.assignment[obj]}/end"),
        ("PUT", "/api/calendar/term-dates"): lambda: Call(path, {"format": "csv", "content": TERM_CSV}),
        ("GET", "/api/calendar/term-dates"): lambda: Call(path),
        ("GET", "/api/calendar/school-age"): lambda: Call(path, query={"dob": "2016-03-14"}),
        ("POST", "/api/users"): lambda: Call(path, {"username": f"new.user.{next(m.serial)}", "role": "officer",
                                                    "display_name": "New", "password": "a long enough passphrase"}),
        ("GET", "/api/users"): lambda: Call(path),
        ("PUT", "/api/users/{user_id}/active"): lambda: Call(f"/api/users/{w.spare_id}/active", {"active": False}),
        ("POST", "/api/users/{user_id}/password"): lambda: Call(f"/api/users/{w.spare_id}/password",
                                                                {"password": PASSWORD}),
        ("POST", "/api/auth/password"): lambda: Call(path, {"current_password": PASSWORD, "new_password": PASSWORD}),
        ("GET", "/api/audit"): lambda: Call(path, query=_case_filter(w, obj)),
        ("POST", "/api/devices/enrol"): lambda: Call(path, {**creds, "device_name": "matrix"}, headers=PROTOCOL),
        ("POST", "/api/devices/{device_id}/renew"): lambda: Call(
            f"/api/devices/{w.device['B' if role == 'officer2' else 'A']}/renew", creds, headers=PROTOCOL),
        ("GET", "/api/devices"): lambda: Call(path),
        ("POST", "/api/devices/{device_id}/revoke"): lambda: Call(f"/api/devices/{w.device[obj]}/revoke"),
        ("POST", "/api/devices/{device_id}/retire"): lambda: Call(f"/api/devices/{w.device[obj]}/retire"),
        ("POST", "/api/devices/{device_id}/resync"): lambda: Call(f"/api/devices/{w.device[obj]}/resync"),
        ("GET", "/api/sync/pull"): lambda: Call(path, query={"limit": 50}, headers=PROTOCOL),
        ("POST", "/api/sync/push"): lambda: Call(path, {"ops": [visit_op(cid)]}, headers=PROTOCOL),
        ("POST", "/api/sync/check"): lambda: Call(path, {"digest": holdings_digest([]), "count": 0},
                                                  headers=PROTOCOL),
        ("POST", "/api/sync/goodbye"): lambda: Call(path, headers=PROTOCOL),
        ("GET", "/api/review"): lambda: Call(path, query=_case_filter(w, obj)),
        ("POST", "/api/review/{item_id}/resolve"): lambda: Call(f"/api/review/{w.review[obj]}/resolve",
                                                                {"decision": "reject", "note": "not needed"}),
        # outside the spec
        ("OPTIONS", "/api/uploads"): lambda: Call(path),
        ("POST", "/api/uploads"): lambda: Call(path, headers={
            **TUS, "Upload-Length": "3", "Upload-Metadata": _metadata(hashlib.sha256(b"abc").hexdigest())}),
        ("HEAD", "/api/uploads/{upload_id}"): lambda: Call(f"/api/uploads/{m.upload_of(obj)}", headers=TUS),
        ("PATCH", "/api/uploads/{upload_id}"): lambda: Call(
            f"/api/uploads/{m.upload_of(obj)}", data=b"a",
            headers={**TUS, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}),
        ("DELETE", "/api/uploads/{upload_id}"): lambda: Call(f"/api/uploads/{m.upload_of(obj)}", headers=TUS),
        ("GET", "/api/photos/{photo_id}"): lambda: Call(f"/api/photos/{m.photo_of(obj)}"),
    }
    make = calls.get((method, path))
    if make is None:
        pytest.fail(f"no request builder for {method} {path}: add one next to its POLICY row")
    return make()


# --- fixtures -------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def matrix(database_template, pg_schema_factory, tmp_path_factory):
    kind, template = database_template
    tmp = tmp_path_factory.mktemp("security-matrix")
    if kind == "postgresql":
        url = pg_schema_factory(os.environ["CME_TEST_DATABASE_URL"])
    else:
        shutil.copy(template, tmp / "cme.sqlite3")
        url = f"sqlite:///{tmp / 'cme.sqlite3'}"
    # every world enrols devices for the officers; the per-officer cap is tests/api/test_attack_accounts.py's
    app = create_app({"DATABASE_URL": url, "BLOB_DIR": str(tmp / "blobs"), "TESTING": True,
                      "MAX_DEVICES_PER_OFFICER": 10**6})
    yield Matrix(app, add_accounts(app))
    app.extensions["cme"]["engine"].dispose()


def add_accounts(app) -> dict[str, Account]:
    """One user of each role (two officers), with a cheap password hash."""
    accounts = {}
    with app.extensions["cme"]["uow"].transaction() as unit:
        session = unit.session
        for name, role in ROLE_OF.items():
            user_row = User(username=f"m.{name}", display_name=f"Matrix {name}", role=role.value,
                            password_hash=CHEAP.hash(PASSWORD), active=True, created_at=utcnow())
            session.add(user_row)
            unit.flush()
            accounts[name] = Account(user_row.id, user_row.username)
    return accounts


# --- the tests ----------------------------------------------------------------------------------------------

def _case_ids(value) -> set[int]:
    """Every case id a response body names: `case_id` anywhere, and the id of any case or snapshot."""
    found: set[int] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "case_id" and isinstance(item, int):
                found.add(item)
            found |= _case_ids(item)
        if "reference" in value and isinstance(value.get("id"), int):
            found.add(value["id"])
    elif isinstance(value, list):
        for item in value:
            found |= _case_ids(item)
    return found


def run_row(m: Matrix, table: dict, method: str, path: str, principal: str, obj: str, want) -> None:
    rule = table.get((method, path))
    assert rule is not None and want is not None, (
        f"{method} {path} is served but has no row in the security policy: review who may call it and add one")
    call = build_call(m, method, path, principal, obj)
    token = m.token_for(principal, rule)
    headers = {**call.headers, **({"Authorization": f"Bearer {token}"} if token else {})}
    w = m.current()
    resp = m.client.open(call.path, method=method, json=call.json, data=call.data, query_string=call.query,
                         headers=headers)
    status, code = want
    body = resp.get_data().decode(errors="replace")
    assert resp.status_code < 500, body
    assert resp.status_code == status, f"{method} {call.path} as {principal}: {resp.status_code} {body}"
    if status >= 400 and method != "HEAD":
        assert resp.content_type == "application/problem+json", body
        problem = resp.get_json()
        assert problem["status"] == status and problem["type"].endswith(f"/{code}"), problem
        if status == 401:
            assert resp.headers.get("WWW-Authenticate", "").startswith("Bearer")
    if status < 300:
        _no_leak(w, principal, resp, echoed=_case_ids(call.json))
        if rule.consumes:
            m.consumed()


def _no_leak(w: World, principal: str, resp, echoed: set[int]) -> None:
    """An officer's answer names nothing of the other officer's case; a referrer's, nothing of either (beyond
    the ids the request itself named, which a push result echoes)."""
    role = role_of(principal) if principal not in TOKEN_STATES[:3] else "officer"
    hidden = {"officer": ["B"], "officer2": ["A"], "referrer": ["A", "B"]}.get(role, [])
    if not hidden or not resp.is_json or not resp.data:
        return
    text, ids = resp.get_data(as_text=True), _case_ids(resp.get_json())
    for obj in hidden:
        assert MARKER[obj] not in text, f"{principal} was shown case {obj}: {text[:300]}"
        assert w.case[obj] not in ids - echoed, f"{principal} was shown case {obj}'s id: {text[:300]}"


@pytest.mark.parametrize(("method", "path", "principal", "obj", "want"), ROWS, ids=[_id(r) for r in ROWS])
def test_spec_operation_access(matrix, method, path, principal, obj, want):
    run_row(matrix, POLICY, method, path, principal, obj, want)


@pytest.mark.parametrize(("method", "path", "principal", "obj", "want"), EXTRA_ROWS,
                         ids=[_id(r) for r in EXTRA_ROWS])
def test_route_outside_spec_access(matrix, method, path, principal, obj, want):
    run_row(matrix, EXTRA_POLICY, method, path, principal, obj, want)


def test_policy_covers_every_operation():
    """A new operation in the spec needs a reviewed row; a row for an operation that went away is stale."""
    assert sorted(set(SPEC_OPERATIONS) - set(POLICY)) == [], "operations without a security policy"
    assert sorted(set(POLICY) - set(SPEC_OPERATIONS)) == [], "policy rows for operations the spec lacks"


def test_every_api_route_is_reviewed():
    """Routes kept out of the spec (plain Flask) are reviewed too: none may exist outside both tables."""
    served = {tuple(r) for r in SPEC["x-routes"]} - NOT_API
    assert sorted(served - set(POLICY) - set(EXTRA_POLICY)) == []


def test_grants_are_as_reviewed():
    """The matrix derives its expectations from GRANTS; a change to GRANTS must be reviewed here as well."""
    assert {p.value: {r.value for r in roles} for p, roles in GRANTS.items()} == REVIEWED_GRANTS


def test_every_secured_operation_declares_bearer_auth():
    """What the policy guards, the spec says is guarded (clients and schemathesis read it from there)."""
    for method, path in SPEC_OPERATIONS:
        declared = SPEC["paths"][path][method.lower()].get("security")
        if POLICY[(method, path)].kind == "public":
            assert not declared, f"{method} {path}"
        else:
            assert declared == [{"bearerAuth": []}], f"{method} {path}"


def test_matrix_size():
    """Every operation has rows for every principal (a guard against the generator silently dropping some)."""
    per_op = {(m, p) for m, p, *_ in ROWS}
    assert per_op == set(SPEC_OPERATIONS)
    assert len(ROWS) >= len(SPEC_OPERATIONS) * len(PRINCIPALS)
    assert {r[2] for r in ROWS} == set(PRINCIPALS)

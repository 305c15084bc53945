"""Support for the model-based sync test (`test_sync_model.py`): the real Flask app behind a `requests` transport
adapter that injects network faults, field devices running the real client stack, and read-only views of the
server's database for the invariants.

Fault modes, drawn per HTTP request (`FAULTS`):
- ``ok``             delivered, answered.
- ``lose_request``   the request never reaches the server (ConnectionError before the app is called).
- ``lose_response``  the server handles and commits it; the answer is lost (ConnectionError after).
- ``duplicate``      delivered twice (a proxy or a client library retrying); the client sees the second answer.
- ``hold``           a sync request (push, pull, check) is held in the network and the client gets a timeout; it
                     is delivered later, just *after* the next request this device sends to the same endpoint
                     (reordering: usually the client's own retry overtakes it). Other requests are lost.
- ``server_stop``    the server commits, then stops before replying: the client sees a 503 from the balancer.
- ``die``            the request is delivered and handled, then the device's process dies before it reads the
                     answer (`ProcessDied`, a BaseException nothing in the client catches). The test drops the
                     engine and the store and reopens the store from disk.
- ``office``         delivered normally, but first the supervisor does something (edits a case, assigns, ends an
                     assignment, closes or reopens a case): the office does not wait for a device's sync to end,
                     so changes land between its pages, between its push and its pull, or before its check.
"""
from __future__ import annotations

import json
import random
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from sqlalchemy import select

from field_client import state
from field_client.engine import SyncEngine
from field_client.photos import ChunkSizer
from field_client.store import Store
from field_client.transport import Transport

BASE = "https://cme.test"
STORE_PASSPHRASE = "model test passphrase"
CHEAP_KDF_N = 2**10
PHOTO_CHUNK = 1024

FAULTS = ("ok", "lose_request", "lose_response", "duplicate", "hold", "server_stop", "die", "office")
SYNC_PREFIX = "/api/sync/"
_DROP_HEADERS = {"content-length", "host", "connection", "accept-encoding"}


class ProcessDied(BaseException):
    """The device's process died after its request was delivered (nothing in the client may catch this)."""


# ---- the network ---------------------------------------------------------------------------------------------
class FaultyWsgiAdapter(BaseAdapter):
    """Sends a `requests` request to the WSGI app in-process, with the fault the test chose for it."""

    def __init__(self, app: Any, log: list[str] | None = None, office: Callable[[], None] | None = None) -> None:
        super().__init__()
        self.client = app.test_client()
        self.faults: list[str] = []  # consumed one per request; "ok" once empty
        self.held: list[requests.PreparedRequest] = []
        self.office = office  # what the supervisor does for an "office" fault
        self.log = log if log is not None else []
        self.delivered = 0

    def send(self, request: requests.PreparedRequest, **_: Any) -> requests.Response:
        mode = self.faults.pop(0) if self.faults else "ok"
        path = urlsplit(request.url).path
        if mode == "hold" and not path.startswith(SYNC_PREFIX):
            mode = "lose_request"
        self.log.append(f"{request.method} {path} [{mode}]")
        if mode == "office" and self.office is not None:
            self.office()  # the supervisor acts between two of this device's requests
        if mode == "lose_request":
            raise requests.ConnectionError("request lost (model)")
        if mode == "hold":
            self.held.append(request.copy())
            raise requests.ReadTimeout("request stuck in the network (model)")
        response = self._deliver(request)
        if self.held:
            self.release_held(path)  # an earlier request to this endpoint arrives after this later one
        if mode == "duplicate":
            response = self._deliver(request)
        elif mode == "lose_response":
            raise requests.ConnectionError("response lost (model)")
        elif mode == "server_stop":
            return _response(request, 503, b"", {"Retry-After": "0"})
        elif mode == "die":
            raise ProcessDied(f"device died after {request.method} {path} was delivered")
        return response

    def release_held(self, path: str | None = None) -> None:
        """Deliver the held requests (to `path`, or all) now; their answers go nowhere."""
        now = [r for r in self.held if path is None or urlsplit(r.url).path == path]
        self.held = [r for r in self.held if r not in now]
        for request in now:
            self.log.append(f"{request.method} {urlsplit(request.url).path} [held, delivered late]")
            self._deliver(request)

    def _deliver(self, request: requests.PreparedRequest) -> requests.Response:
        self.delivered += 1
        parts = urlsplit(request.url)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _DROP_HEADERS}
        body = request.body
        if isinstance(body, str):
            body = body.encode()
        answer = self.client.open(parts.path, method=request.method, query_string=parts.query,
                                  headers=headers, data=body or b"")
        try:
            return _response(request, answer.status_code, answer.get_data(), dict(answer.headers))
        finally:
            answer.close()

    def close(self) -> None:
        pass


def _response(request: requests.PreparedRequest, status: int, body: bytes,
              headers: dict[str, str]) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.headers = CaseInsensitiveDict(headers)
    response._content = body
    response.url = request.url
    response.request = request
    response.reason = "model"
    response.encoding = "utf-8"
    return response


# ---- a field device ------------------------------------------------------------------------------------------
@dataclass
class Captured:
    """What the model knows about one op a device captured."""

    op_id: str
    slot: int
    device_id: int
    kind: str
    case_id: int
    changes: dict[str, Any] | None = None  # propose_case_change: what the officer proposed
    base_version: int | None = None


@dataclass
class Device:
    """One enrolled device: its store on disk, the engine over it, and the faulty network it syncs through."""

    slot: int
    username: str
    officer_id: int
    directory: Path
    adapter: FaultyWsgiAdapter
    rng: random.Random
    push_batch: int = 2
    pull_limit: int = 2
    device_id: int = 0
    store: Store | None = None
    engine: SyncEngine | None = None
    revoked_on_server: bool = False
    crashes: int = 0

    def session(self) -> requests.Session:
        session = requests.Session()
        session.mount(BASE, self.adapter)
        return session

    def enrol(self, password: str) -> None:
        self.store = Store.create(self.directory, STORE_PASSPHRASE, kdf_n=CHEAP_KDF_N, chunk_size=1024)
        transport = Transport(BASE, session=self.session(), sleep=lambda _: None)
        answer = transport.enrol(self.username, password, f"tablet {self.slot}")
        now = state.utc_iso(state.local_now())
        with self.store.transaction():
            for key, value in {state.SERVER_URL: BASE, state.DEVICE_ID: answer["device_id"],
                               state.DEVICE_TOKEN: answer["device_token"], state.OFFICER_ID: answer["officer_id"],
                               state.DEVICE_NAME: f"tablet {self.slot}", state.ENROLLED_AT: now,
                               state.OFFLINE_TTL: int(answer["offline_ttl_seconds"]),
                               state.LAST_CONTACT: now}.items():
                self.store.state.set(key, value)
        self.device_id = answer["device_id"]
        self.revoked_on_server = False
        self._make_engine()

    def _make_engine(self) -> None:
        assert self.store is not None
        transport = Transport(BASE, self.store.state.get(state.DEVICE_TOKEN), session=self.session(),
                              sleep=lambda _: None, rng=random.Random(self.rng.random()))
        self.engine = SyncEngine(self.store, transport, sleep=lambda _: None, push_batch=self.push_batch,
                                 pull_limit=self.pull_limit, rng=random.Random(self.rng.random()))
        # several PATCHes per photo: more places for a fault
        self.engine.uploader.sizer = ChunkSizer(first=PHOTO_CHUNK, lowest=PHOTO_CHUNK, highest=PHOTO_CHUNK)

    def die_and_reopen(self) -> None:
        """The process died: the engine and the open store are dropped (nothing uncommitted survives) and the
        store is opened again from disk, as the next start of the app would."""
        if self.store is not None:
            self.store.close()  # closing without COMMIT discards any open transaction, as a crash would
        self.store, self.engine = None, None
        self.crashes += 1
        self.store = Store.open(self.directory, STORE_PASSPHRASE)
        self._make_engine()

    @property
    def erased(self) -> bool:
        return self.engine is None or self.engine.erased

    def outbox_ids(self) -> set[str]:
        if self.erased:
            return set()
        assert self.store is not None
        return {item.op_id for item in self.store.outbox.pending()}

    def holdings(self) -> dict[int, int]:
        if self.erased:
            return {}
        assert self.store is not None
        return {int(cid): ver for cid, ver in self.store.records.ids_and_versions(state.CASES)}

    def snapshots(self) -> dict[int, dict]:
        if self.erased:
            return {}
        return {int(cid): data for cid, _, data in self.store.records.list(state.CASES)}

    def verdicts(self) -> list[dict]:
        """The notable verdicts the device kept for its officer (clash, conflicts, quarantines)."""
        return [] if self.erased else self.store.state.get(state.RESULTS, [])

    def visits(self) -> list[str]:
        """Visit op ids recorded on this device that a photo can still be attached to."""
        return [] if self.erased else [visit_id for visit_id, _, _ in self.store.records.list(state.VISITS)]

    def uploads_done(self) -> set[str]:
        if self.erased:
            return set()
        return {pid for pid, entry in self.store.state.get(state.UPLOADS, {}).items() if entry.get("done")}

    def leaving(self) -> list[int]:
        return [] if self.erased else self.engine.holdings.leaving()

    def close(self) -> None:
        if self.store is not None and not self.erased:
            self.store.close()
        self.store, self.engine = None, None


# ---- the server's database, read for the invariants ------------------------------------------------------
def fresh_database(template: tuple[str, str], directory: Path, truncate: Callable[[str], None]) -> str:
    kind, where = template
    if kind == "postgresql":
        truncate(where)
        return where
    path = directory / "cme.sqlite3"
    shutil.copy(where, path)
    return f"sqlite:///{path}"


@dataclass
class ServerFacts:
    applied: dict[str, tuple[str, int | None, dict]] = field(default_factory=dict)  # op -> (status, case, result)
    enquiries: dict[str, list[int]] = field(default_factory=dict)  # op -> case ids of enquiries with that op id
    photos: dict[str, list[int]] = field(default_factory=dict)  # op -> case ids of photos linked by that op
    # op -> review items kept for it: (category, reason, values, resolution or None while open)
    reviews: dict[str, list[tuple[str, str | None, dict | None, str | None]]] = field(default_factory=dict)
    scope: dict[int, set[int]] = field(default_factory=dict)  # officer -> case ids with an open assignment
    versions: dict[int, int] = field(default_factory=dict)  # case -> version
    holdings: dict[int, dict[int, int]] = field(default_factory=dict)  # device -> {case: version}
    device_status: dict[int, str] = field(default_factory=dict)


def server_facts(uow: Any) -> ServerFacts:
    from server.adapters.models import Assignment, Case, Enquiry
    from server.adapters.sync_models import AppliedOp, Device, DeviceHolding, ReviewItem
    from server.adapters.upload_models import Photo

    facts = ServerFacts()
    with uow.transaction() as unit:
        session = unit.session
        for row in session.scalars(select(AppliedOp)):
            facts.applied[row.op_id] = (row.status, row.case_id, row.result)
        for op_id, case_id in session.execute(select(Enquiry.op_id, Enquiry.case_id).where(Enquiry.op_id.isnot(None))):
            facts.enquiries.setdefault(op_id, []).append(case_id)
        for op_id, case_id in session.execute(select(Photo.op_id, Photo.case_id).where(Photo.op_id.isnot(None))):
            facts.photos.setdefault(op_id, []).append(case_id)
        for item in session.scalars(select(ReviewItem).order_by(ReviewItem.id)):
            facts.reviews.setdefault(item.op_id, []).append((item.category, item.reason, item.values, item.resolution))
        for officer_id, case_id in session.execute(select(Assignment.officer_id, Assignment.case_id).where(
                Assignment.ended_at.is_(None))):
            facts.scope.setdefault(officer_id, set()).add(case_id)
        facts.versions = dict(session.execute(select(Case.id, Case.version)).all())
        for device_id, case_id, version in session.execute(
                select(DeviceHolding.device_id, DeviceHolding.case_id, DeviceHolding.version)):
            facts.holdings.setdefault(device_id, {})[case_id] = version
        facts.device_status = dict(session.execute(select(Device.id, Device.status)).all())
    return facts


def scope_content(uow: Any, officer_id: int) -> dict[int, dict]:
    """The fields a device's copy of each in-scope case must show, read from the register's own tables (not
    through the server's snapshot code, so that a fault there is visible): status, contact details, address,
    carers' phones and emails, and the officer's newest open assignment with its acknowledgement."""
    from server.adapters.models import Assignment, Case

    out: dict[int, dict] = {}
    with uow.transaction() as unit:
        session = unit.session
        rows = session.scalars(select(Assignment).where(Assignment.officer_id == officer_id,
                                                        Assignment.ended_at.is_(None)).order_by(Assignment.id))
        for a in rows:
            case = session.get(Case, a.case_id)
            address = None if not case.address_line1 else {
                "line1": case.address_line1, "line2": case.address_line2, "town": case.address_town,
                "postcode": case.address_postcode}
            out[case.id] = {"status": case.status, "contact_phone": case.contact_phone,
                            "contact_email": case.contact_email, "current_address": address,
                            "carers": sorted((c.id, c.phone, c.email) for c in case.carers),
                            "assignment": (a.id, a.acknowledged_at is not None)}
    return out


def held_content(snapshot: dict) -> dict:
    """The same fields from a snapshot held on a device."""
    assignment = snapshot.get("assignment") or {}
    return {"status": snapshot["status"], "contact_phone": snapshot.get("contact_phone"),
            "contact_email": snapshot.get("contact_email"), "current_address": snapshot.get("current_address"),
            "carers": sorted((c["id"], c.get("phone"), c.get("email")) for c in snapshot.get("carers") or []),
            "assignment": (assignment.get("id"), bool(assignment.get("acknowledged")))}


# Which audit action records the write behind each kind of change-log row.
AUDIT_FOR_CHANGE = {
    "created": {"case.create"}, "updated": {"case.update"}, "field_edit": {"case.field_edit"},
    "assigned": {"assignment.create"}, "unassigned": {"assignment.end"},
    "enquiry:home_visit": {"enquiry.record"}, "enquiry:address_check": {"enquiry.record"},
    "assignment_acknowledged": {"assignment.acknowledge"}, "photo": {"photo.link"},
    "review_pick": {"review.resolve"},
}
READ_ACTIONS = frozenset({"sync.pull", "case.read", "case.list", "assignment.list", "review.list", "enquiry.list",
                          "photo.read"})
SAME_TRANSACTION_SLACK_SECONDS = 1.0


def audit_gaps(uow: Any) -> list[str]:
    """Change-log rows not covered by an audit entry (see `test_sync_model` for why this formulation)."""
    from server.adapters.access_models import AuditEntry
    from server.adapters.models import CaseChange
    from server.service.clock import as_utc

    with uow.transaction() as unit:
        session = unit.session
        changes = session.execute(select(CaseChange.seq, CaseChange.case_id, CaseChange.actor_id, CaseChange.kind,
                                         CaseChange.at).order_by(CaseChange.seq)).all()
        audits = session.execute(select(AuditEntry.id, AuditEntry.case_id, AuditEntry.actor_id, AuditEntry.action,
                                        AuditEntry.at).order_by(AuditEntry.at, AuditEntry.id)).all()
    pools: dict[tuple, list[tuple[Any, int]]] = {}
    for audit_id, case_id, actor_id, action, at in audits:
        if action not in READ_ACTIONS:
            pools.setdefault((case_id, actor_id), []).append((as_utc(at), audit_id, action))
    used: set[int] = set()
    gaps = []
    # Greedy: each change takes the earliest unused matching audit entry not earlier than the change (less a
    # little slack for entries written just before the version bump in the same transaction). For "exists
    # an audit at or after" constraints, earliest-first assignment in change order is an optimal matching.
    for seq, case_id, actor_id, kind, at in sorted(changes, key=lambda c: (as_utc(c[4]), c[0])):
        wanted = AUDIT_FOR_CHANGE.get(kind)
        at = as_utc(at)
        match = None
        for entry_at, audit_id, action in pools.get((case_id, actor_id), []):
            if audit_id in used or (wanted is not None and action not in wanted):
                continue
            if (entry_at - at).total_seconds() >= -SAME_TRANSACTION_SLACK_SECONDS:
                match = audit_id
                break
        if match is None:
            gaps.append(f"change seq={seq} case={case_id} actor={actor_id} kind={kind} at={at.isoformat()}")
        else:
            used.add(match)
    return gaps


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)

"""An in-memory sync server speaking sync/PROTOCOL.md, mounted into a `requests.Session` as a transport adapter.

The client's real `Transport` (headers, retries, error mapping, tus) talks to it, so engine tests exercise the
whole client stack without a network. It judges ops with the same `sync/` code the real server uses, keeps a
change log with commit-ordered numbers, tracks what it sent the device (for `check`), and can inject faults:
a status for the next N calls, a dropped connection before or after processing, or a cut mid-upload.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import itertools
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from sync.cursor import decode_cursor, encode_cursor, holdings_digest
from sync.errors import CursorInvalid, OpInvalid, problem_type
from sync.ops import Op, fingerprint, is_known_kind, validate_payload

BASE = "https://cme.test"
TOKEN = "tok-device-0001"
USERNAME, PASSWORD = "ao1", "correct horse"
OTHER_USERNAME = "ao2"  # another officer, same password: may sign in, but not to ao1's device
DEVICE_ID = 11


def make_case(case_id: int, version: int = 1, **overrides: Any) -> dict[str, Any]:
    """A valid CaseSnapshot (fictional people) as the server would send it."""
    snapshot = {
        "id": case_id, "version": version, "reference": f"CME-{case_id:05d}", "status": "open",
        "child": {"first_name": "Ada", "last_name": f"Example{case_id}", "preferred_name": None,
                  "dob": "2013-04-05", "gender": "female"},
        "current_address": {"line1": f"{case_id} Test Street", "line2": None, "town": "Medway",
                            "postcode": "ME4 4TR"},
        "contact_phone": "01632 960001", "contact_email": None,
        "carers": [{"id": 7, "name": "Bea Example", "relationship": "mother", "parental_responsibility": True,
                    "phone": None, "email": None}],
        "last_school": {"name": "Test Primary", "on_roll": "2019-09-04", "off_roll": "2024-02-01"},
        "safeguarding": {"cp": False, "cin": True, "cic": False},
        "assignment": {"id": 100 + case_id, "due": "2025-07-01", "instructions": "Knock twice",
                       "acknowledged": False},
        "recent_enquiries": [],
        "server_secret_field": "a field the device must not keep",
    }
    snapshot.update(overrides)
    return snapshot


@dataclass
class Fault:
    key: str  # "METHOD /path-prefix"
    action: Any  # an int status, "down" (before processing), "lose" (after processing)
    times: int = 1


@dataclass
class FakeServer:
    cases: dict[int, dict[str, Any]] = field(default_factory=dict)
    scope: set[int] = field(default_factory=set)
    changes: list[tuple[int, int]] = field(default_factory=list)
    holdings: dict[int, int] = field(default_factory=dict)
    epoch: int = 0
    status: str = "active"
    token: str | None = TOKEN
    offline_ttl: int = 3600
    applied: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    apply_counts: Counter = field(default_factory=Counter)
    force: dict[str, dict[str, Any]] = field(default_factory=dict)  # kind -> result fields to answer
    faults: list[Fault] = field(default_factory=list)
    uploads: dict[str, dict[str, Any]] = field(default_factory=dict)
    photos: dict[str, bytes] = field(default_factory=dict)
    cut_upload_at: int | None = None  # total bytes received by PATCHes after which the connection drops
    patch_bytes: int = 0
    calls: list[str] = field(default_factory=list)
    goodbyes: int = 0
    renewals: int = 0
    _seq: Any = field(default_factory=lambda: itertools.count(1))
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    # ---- control (what a supervisor or the test does) ---------------------------------------------
    def touch(self, case_id: int) -> None:
        self.changes.append((next(self._seq), case_id))

    def assign(self, *snapshots: dict[str, Any]) -> None:
        for snapshot in snapshots:
            self.cases[snapshot["id"]] = copy.deepcopy(snapshot)
            self.scope.add(snapshot["id"])
            self.touch(snapshot["id"])

    def unassign(self, case_id: int) -> None:
        self.scope.discard(case_id)

    def update_case(self, case_id: int, **changes: Any) -> None:
        case = self.cases[case_id]
        case.update(changes)
        case["version"] += 1
        self.touch(case_id)

    def expire_token(self) -> None:
        """The device token's lifetime ran out: every call with it is answered 401 until the device signs in."""
        self.token = None

    def fail(self, key: str, action: Any, times: int = 1) -> None:
        self.faults.append(Fault(key, action, times))

    def session(self) -> requests.Session:
        session = requests.Session()
        session.mount(BASE, _Adapter(self))
        return session

    # ---- dispatch --------------------------------------------------------------------------------
    def _fault(self, method: str, path: str) -> Any:
        for fault in self.faults:
            fault_method, _, prefix = fault.key.partition(" ")
            if fault.times > 0 and fault_method == method and path.startswith(prefix):
                fault.times -= 1
                return fault.action
        return None

    def handle(self, request: requests.PreparedRequest) -> requests.Response:
        parts = urlsplit(request.url)
        method, path = request.method, parts.path
        self.calls.append(f"{method} {path}")
        action = self._fault(method, path)
        if action == "down":
            raise requests.ConnectionError("connection refused (fake)")
        if isinstance(action, int):
            return _problem(request, action, "fake-fault", "Injected fault")
        response = self._route(request, method, path, parse_qs(parts.query))
        if action == "lose":
            raise requests.ConnectionError("connection reset after the server answered (fake)")
        return response

    def _route(self, request: requests.PreparedRequest, method: str, path: str,
               query: dict[str, list[str]]) -> requests.Response:
        if request.headers.get("CME-Sync-Protocol") != "1":
            return _problem(request, 400, "unsupported-protocol", "Unsupported sync protocol version")
        if (method, path) == ("POST", "/api/devices/enrol"):
            return self._enrol(request)
        if method == "POST" and path.startswith("/api/devices/") and path.endswith("/renew"):
            return self._renew(request, path.split("/")[3])
        if request.headers.get("Authorization") != f"Bearer {self.token}" or self.token is None:
            return _problem(request, 401, "unauthenticated", "Token not accepted")
        if self.status == "revoked":
            return _problem(request, 403, "device-revoked", "Device has been revoked")
        if path.startswith("/api/uploads"):
            return self._tus(request, method, path)
        handler = {("GET", "/api/sync/pull"): self._pull, ("POST", "/api/sync/push"): self._push,
                   ("POST", "/api/sync/check"): self._check, ("POST", "/api/sync/goodbye"): self._goodbye}
        if (method, path) not in handler:
            return _problem(request, 404, "not-found", "Not found")
        if self.status == "retired" and path in ("/api/sync/pull", "/api/sync/check"):
            return _problem(request, 403, "device-retired", "Device has been retired")
        return handler[(method, path)](request, query)

    # ---- endpoints -------------------------------------------------------------------------------
    def _enrol(self, request: requests.PreparedRequest) -> requests.Response:
        body = json.loads(request.body)
        if (body.get("username"), body.get("password")) != (USERNAME, PASSWORD):
            return _problem(request, 401, "invalid-credentials", "Wrong username or password")
        return _json(request, 201, {"device_id": DEVICE_ID, "device_token": self.token, "officer_id": 5,
                                    "offline_ttl_seconds": self.offline_ttl, "server_time": _now()})

    def _renew(self, request: requests.PreparedRequest, device_id: str) -> requests.Response:
        """POST /api/devices/<id>/renew: the same device signs in again, with a new token."""
        body = json.loads(request.body)
        if body.get("password") != PASSWORD or body.get("username") not in (USERNAME, OTHER_USERNAME):
            return _problem(request, 401, "unauthenticated", "Wrong username or password")
        if device_id != str(DEVICE_ID):
            return _problem(request, 404, "not-found", "Not found")
        if body["username"] != USERNAME:
            return _problem(request, 403, "forbidden", "This device is enrolled to another officer")
        if self.status in ("revoked", "wiped"):
            return _problem(request, 403, "device-revoked", "Device has been revoked")
        self.renewals += 1
        self.token = f"tok-device-renewed-{self.renewals}"
        return _json(request, 200, {"device_id": DEVICE_ID, "device_token": self.token, "officer_id": 5,
                                    "offline_ttl_seconds": self.offline_ttl, "server_time": _now()})

    def _pull(self, request: requests.PreparedRequest, query: dict[str, list[str]]) -> requests.Response:
        try:
            cursor = decode_cursor((query.get("cursor") or [None])[0])
        except CursorInvalid as exc:
            return _problem(request, 400, "cursor-invalid", str(exc))
        limit = int((query.get("limit") or ["100"])[0])
        if cursor.scope_epoch != self.epoch:
            self.holdings.clear()
            return self._page(request, [], [], encode_cursor(0, self.epoch), more=True, resync=True)
        check = self._pull_check(query)  # as the real server: an answer only, nothing changed by a mismatch
        removed = sorted(set(self.holdings) - self.scope)
        for case_id in removed:
            del self.holdings[case_id]
        seen: list[int] = []
        last, more = cursor.change_seq, False
        for seq, case_id in self.changes:
            if seq <= cursor.change_seq or case_id not in self.scope:
                last = max(last, seq)
                continue
            if case_id not in seen:
                if len(seen) == limit:
                    more = True
                    break
                seen.append(case_id)
            last = seq
        for case_id in seen:
            self.holdings[case_id] = self.cases[case_id]["version"]
        return self._page(request, [copy.deepcopy(self.cases[c]) for c in seen], removed,
                          encode_cursor(last, self.epoch), more=more, resync=False, check=check)

    def _pull_check(self, query: dict[str, list[str]]) -> dict[str, Any] | None:
        if "digest" not in query:
            return None
        digest, count = query["digest"][0], int(query["count"][0])
        match = count == len(self.holdings) and digest == holdings_digest(self.holdings.items())
        return {"match": match, "server_count": len(self.holdings)}

    def _page(self, request: requests.PreparedRequest, cases: list[dict[str, Any]], removed: list[int],
              cursor: str, *, more: bool, resync: bool, check: dict[str, Any] | None = None) -> requests.Response:
        body = {"cases": cases, "removed": removed, "cursor": cursor, "more": more, "resync": resync,
                "server_time": _now(), "offline_ttl_seconds": self.offline_ttl}
        return _json(request, 200, body if check is None else {**body, "check": check})

    def _push(self, request: requests.PreparedRequest, _: Any) -> requests.Response:
        ops = json.loads(request.body)["ops"]
        return _json(request, 200, {"results": [self._push_one(raw) for raw in ops], "server_time": _now()})

    def _push_one(self, raw: dict[str, Any]) -> dict[str, Any]:
        try:
            op = Op.from_wire(raw)
        except OpInvalid as exc:
            return {"op_id": str(raw.get("op_id")), "status": "quarantined", "reason": "invalid", "detail": str(exc)}
        seen = self.applied.get(op.op_id)
        if seen is not None:
            status = "duplicate" if seen[0] == fingerprint(op) else "clash"
            return dict(seen[1], status=status)
        result = self._judge(op)
        self.applied[op.op_id] = (fingerprint(op), result)
        return result

    def _judge(self, op: Op) -> dict[str, Any]:
        base = {"op_id": op.op_id, "case_id": op.case_id}
        problems = validate_payload(op)
        if problems:
            reason = "invalid" if is_known_kind(op.kind) else "unknown_kind"
            return dict(base, status="quarantined", reason=reason, detail=problems[0].message)
        if op.case_id not in self.cases:
            return dict(base, status="quarantined", reason="unknown_case")
        if op.case_id not in self.scope:
            return dict(base, status="quarantined", reason="out_of_scope")
        self.apply_counts[op.op_id] += 1
        if op.kind in self.force:
            return dict(base, **self.force[op.kind])
        if op.kind == "attach_photo" and op.payload["sha256"] not in self.photos:
            return dict(base, status="quarantined", reason="invalid", detail="photo not uploaded")
        self.update_case(op.case_id)
        return dict(base, status="applied", case_version=self.cases[op.case_id]["version"],
                    result={"enquiry_id": next(self._ids)})

    def _check(self, request: requests.PreparedRequest, _: Any) -> requests.Response:
        body = json.loads(request.body)
        match = body["count"] == len(self.holdings) and body["digest"] == holdings_digest(self.holdings.items())
        if not match:
            self.epoch += 1
        return _json(request, 200, {"match": match, "server_count": len(self.holdings), "resync": not match})

    def _goodbye(self, request: requests.PreparedRequest, _: Any) -> requests.Response:
        if self.status != "retired":
            return _problem(request, 409, "conflict", "Only a retired device says goodbye")
        self.status, self.token, self.goodbyes = "wiped", None, self.goodbyes + 1
        self.holdings.clear()
        return _response(request, 204, b"", {})

    # ---- tus -------------------------------------------------------------------------------------
    def _tus(self, request: requests.PreparedRequest, method: str, path: str) -> requests.Response:
        if request.headers.get("Tus-Resumable") != "1.0.0":
            return _response(request, 412, b"", {"Tus-Version": "1.0.0"})
        if method == "POST" and path == "/api/uploads":
            return self._tus_create(request)
        upload = self.uploads.get(path.rsplit("/", 1)[-1])
        if upload is None:
            return _response(request, 404, b"", {})
        if method == "HEAD":
            return _response(request, 200, b"", {"Upload-Offset": str(len(upload["data"])),
                                                 "Upload-Length": str(upload["length"]), "Tus-Resumable": "1.0.0"})
        if method == "PATCH":
            return self._tus_patch(request, upload)
        return _response(request, 405, b"", {})

    def _tus_create(self, request: requests.PreparedRequest) -> requests.Response:
        metadata = {}
        for pair in request.headers["Upload-Metadata"].split(","):
            key, _, value = pair.strip().partition(" ")
            metadata[key] = base64.b64decode(value).decode()
        upload_id = f"up{next(self._ids)}"
        self.uploads[upload_id] = {"length": int(request.headers["Upload-Length"]), "meta": metadata,
                                   "data": bytearray()}
        return _response(request, 201, b"", {"Location": f"/api/uploads/{upload_id}", "Tus-Resumable": "1.0.0"})

    def _tus_patch(self, request: requests.PreparedRequest, upload: dict[str, Any]) -> requests.Response:
        if request.headers.get("Content-Type") != "application/offset+octet-stream":
            return _response(request, 415, b"", {})
        if int(request.headers["Upload-Offset"]) != len(upload["data"]):
            return _response(request, 409, b"", {})
        body = request.body or b""
        algorithm, _, digest = request.headers.get("Upload-Checksum", "").partition(" ")
        if algorithm != "sha256" or base64.b64decode(digest) != hashlib.sha256(body).digest():
            return _response(request, 460, b"", {})
        if self.cut_upload_at is not None and self.patch_bytes + len(body) > self.cut_upload_at:
            keep = self.cut_upload_at - self.patch_bytes
            upload["data"] += body[:keep]
            self.patch_bytes, self.cut_upload_at = self.patch_bytes + keep, None
            raise requests.ConnectionError("connection dropped mid-upload (fake)")
        upload["data"] += body
        self.patch_bytes += len(body)
        if len(upload["data"]) == upload["length"]:
            data = bytes(upload["data"])
            if hashlib.sha256(data).hexdigest() != upload["meta"]["sha256"]:
                return _problem(request, 422, "checksum-mismatch", "Whole-file SHA-256 does not match")
            self.photos[upload["meta"]["sha256"]] = data
        return _response(request, 204, b"", {"Upload-Offset": str(len(upload["data"])), "Tus-Resumable": "1.0.0"})


class _Adapter(BaseAdapter):
    def __init__(self, server: FakeServer) -> None:
        super().__init__()
        self.server = server

    def send(self, request: requests.PreparedRequest, **_: Any) -> requests.Response:
        return self.server.handle(request)

    def close(self) -> None:
        pass


def _now() -> str:
    return "2025-06-01T10:00:00+00:00"


def _response(request: requests.PreparedRequest, status: int, body: bytes, headers: dict[str, str]) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.headers = CaseInsensitiveDict(headers)
    response._content = body
    response.url = request.url
    response.request = request
    response.reason = "fake"
    return response


def _json(request: requests.PreparedRequest, status: int, body: Any) -> requests.Response:
    return _response(request, status, json.dumps(body).encode(), {"Content-Type": "application/json"})


def _problem(request: requests.PreparedRequest, status: int, code: str, title: str) -> requests.Response:
    body = {"type": problem_type(code), "title": title, "status": status, "detail": f"{title} (fake)"}
    return _response(request, status, json.dumps(body).encode(), {"Content-Type": "application/problem+json"})

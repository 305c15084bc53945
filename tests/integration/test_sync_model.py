"""Model-based test of offline sync: field devices, a supervisor and the real server, over a faulty network.

The real Flask app runs in-process behind a `requests` transport adapter (`sync_model_support.FaultyWsgiAdapter`),
so the real `field_client.transport.Transport`, `SyncEngine` and encrypted `Store` run unchanged. Each example gets
a fresh database (a copy of the migrated SQLite template, or the PostgreSQL template schema truncated) and draws
2-3 devices (one per officer, or two for the first officer), push batches of 1-3 ops and pull pages of 2 cases.
Steps:
- offline capture on a held case: home visits, address checks, photos of a visit (tus upload in 1 KiB PATCHes),
  assignment acknowledgements, field edits (`propose_change`), and an officer's edit made while the office edits
  the same case (`concurrent_edits`);
- the supervisor: PATCH with If-Match (sometimes stale: 412), assign / end / reassign, close / reopen, resolve
  review items (accept, pick server or device values, reject), order a device to resync, revoke a device (it
  erases itself at its next contact; the officer then enrols a fresh device);
- sync one device, or every device, with a network fault drawn per request (`sync_model_support.FAULTS`): request
  lost, response lost, duplicate delivery, a request held and delivered after a later one (reordering), the
  server stopping between commit and reply, the device's process dying after its request was delivered (engine
  and store dropped, the store reopened from disk with `Store.open`), and the office acting between two of the
  device's requests.

Invariants after every step (`@invariant`):
 I1 nothing captured is lost: every op a device captured is, on the server, recorded exactly once
    (one AppliedOp row whose first status is a verdict, never "duplicate"/"clash") and
      - a visit/address check applied: exactly one Enquiry with that op id, on the op's case, and no review item;
      - a photo applied: exactly one Photo with that op id, on the op's case;
      - a field edit or acknowledgement applied: no Enquiry and no review item;
      - conflict_soft / conflict_hard: exactly one ReviewItem of that category;
      - quarantined: exactly one ReviewItem (category quarantined, with the same reason) and no Enquiry;
    or, not yet on the server, still in its device's outbox (also across a process death: the store is
    reopened from disk). The only allowed loss: ops of a device wiped after revocation, tracked separately.
 (A supervisor may accept a kept visit/check from the review queue: then exactly one Enquiry has its op id.)
 I2 no phantom effects: every Enquiry / ReviewItem / AppliedOp op id is one a device captured.
 I3 hard conflicts keep both values: each conflict_hard ReviewItem has values {path: [server, device]} for
    exactly the paths the AppliedOp result reports, the device value equals what the officer proposed, the two
    differ (as the register compares them: an address part left out equals a null one), every proposed path is
    either applied or held as hard, and the conflict is real: someone other than this device (the supervisor or
    another device) wrote that field after the op's base version. Likewise a soft conflict needs someone else
    to have written another field since the base.
 I4 no device is ever told "clash": whatever it resends (after a lost answer, a crash) has the same content.
 I5 a device never holds a case that was never in its officer's scope.
 I6 the audit log covers the change log (see AUDIT below).
 R1 a review pick never silently overwrites: picking the device's value succeeds only if the field still holds
    the server value kept with the conflict (otherwise 409, and nothing is written).
After each sync that completes without an exception (and during which the office did not act):
 S1 the outbox is empty and nothing is left "leaving";
 S2 the device holds exactly its officer's scope at the server's versions, showing the register's current
    status, contact details, address, carers and assignment (read from the tables, not from the server's
    snapshot code), the server's record of what the device holds agrees, and the consistency
    check reported a match. (A photo upload that failed is recorded, not raised: its attach op may wait, and
    its case may stay "leaving" until that op is sent.)
At the end (fault-free delivery of anything still held in the network, then a fault-free sync of every
device, re-enrolling the ones that were revoked): S1, S2 for every device, and I1 with no outbox left, so every
captured op is applied once or kept for review, except ops of wiped devices (counted, by design).

AUDIT: each CaseChange row must be matched, one-to-one, to an AuditEntry of the same case and the same actor
whose action is the write that kind of change comes from (case.update for "updated", enquiry.record for a visit,
assignment.end for "unassigned", ...; any write action for kinds not listed, such as status changes) and whose
time is not earlier than the change's, less one second of slack: some services write the audit entry just before
the version bump in the same transaction, and timestamps within one transaction carry no order. "Some audit
entry on the case at or after the change" would be vacuous (any later read of the case satisfies it); the
one-to-one match on actor and action is what makes a missing audit visible. (Not caught: a missing entry hidden
by a later audited write of the same action, case and actor that itself changed nothing.)

CI runs a short search; run thousands of examples with
    CME_MODEL_EXAMPLES=2000 .venv/bin/python -m pytest tests/integration/test_sync_model.py
"""
from __future__ import annotations

import os
import random
import shutil
import sys
import tempfile
from datetime import date
from pathlib import Path

from argon2 import PasswordHasher
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule, \
    run_state_machine_as_test

from field_client.capture import CaptureError
from field_client.transport import TransportError
from sync.errors import DeviceRevoked
from sync.vocabulary import OpStatus
from tests.conftest import PASSWORD, _truncate_all
from tests.helpers import child
from tests.integration.sync_model_support import (
    FAULTS, Captured, Device, FaultyWsgiAdapter, ProcessDied, audit_gaps, dumps, fresh_database, held_content,
    scope_content, server_facts,
)

MODEL_SETTINGS = settings(max_examples=int(os.environ.get("CME_MODEL_EXAMPLES", "25")), stateful_step_count=20,
                          deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                                                HealthCheck.data_too_large])
N_CASES = 4
MAX_REVOCATIONS = 1  # per example: enough to exercise wipe and re-enrolment without every op dying with a device
OFFICERS = ("officer", "officer2")
PHONES = ("01632 960001", "01632 960002", "07700 900999")
EMAILS = ("a@example.org", "b@example.org", None)
ADDRESSES = ({"line1": "1 Model Road", "town": "Chatham", "postcode": "ME4 4TR"},
             {"line1": "2 Model Road", "line2": "Flat 3", "town": "Chatham", "postcode": "ME1 1AB"})
FIELDS = ("contact_phone", "contact_email", "current_address", "carer_phone")
FACT_KINDS = {"record_home_visit", "record_address_check"}
VERDICTS = {s.value for s in OpStatus} - {OpStatus.duplicate.value, OpStatus.clash.value}
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)  # verify reads the cost from the hash


def _scratch_dir() -> str | None:
    """Per-example databases and device stores live in RAM when it can (fsync is most of the cost on disk)."""
    chosen = os.environ.get("CME_MODEL_TMP") or "/dev/shm"
    return chosen if os.path.isdir(chosen) and os.access(chosen, os.W_OK) else None


faults = st.lists(st.sampled_from(FAULTS), max_size=8)


def _same_value(path: str, a, b) -> bool:
    """Equal as the register means it: an address part that is absent is the same as one that is null."""
    if path == "current_address" and isinstance(a, dict) and isinstance(b, dict):
        keys = ("line1", "line2", "town", "postcode")
        return [a.get(k) or None for k in keys] == [b.get(k) or None for k in keys]
    return a == b


def _value(field: str, index: int):
    if field in ("contact_phone", "carer_phone"):
        return PHONES[index % len(PHONES)]
    if field == "contact_email":
        return EMAILS[index % len(EMAILS)]
    return ADDRESSES[index % len(ADDRESSES)]


class SyncModel(RuleBasedStateMachine):
    template: tuple[str, str] = ("sqlite", "")

    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="cme-model-", dir=_scratch_dir()))
        from server.app import create_app

        url = fresh_database(self.template, self.tmp, _truncate_all)
        self.app = create_app({"DATABASE_URL": url, "BLOB_DIR": str(self.tmp / "blobs"), "TESTING": True})
        self.uow = self.app.extensions["cme"]["uow"]
        self.client = self.app.test_client()
        self.log: list[str] = []
        self.users = self._make_users()
        self.sup = {"Authorization": f"Bearer {self.users['supervisor'][1]}"}
        self.cases: list[int] = []
        self.carer_of: dict[int, int] = {}
        self.devices: list[Device] = []
        self.captured: dict[str, Captured] = {}
        self.wiped_devices: set[int] = set()  # device ids erased after revocation: their unsent ops are lost
        self.ever_in_scope: dict[int, set[int]] = {oid: set() for oid, _ in self.users.values()}
        self.rng = random.Random(0)
        self.enrolments = 0
        self.revocations = 0
        self.office_acted = False
        self.supervisor_writes: list[tuple[int, int, set[str]]] = []  # (case, version made, field paths)

    # ---- setup -----------------------------------------------------------------------------------------
    def _make_users(self) -> dict[str, tuple[int, str]]:
        from server.adapters.access_models import User
        from server.service.clock import utcnow
        from server.service.security import issue_token

        hashed = CHEAP_HASHER.hash(PASSWORD)
        out = {}
        with self.uow.transaction() as unit:
            session = unit.session
            for name, role in (("supervisor", "supervisor"), ("officer", "officer"), ("officer2", "officer")):
                user = User(username=name, display_name=name, role=role, password_hash=hashed, active=True,
                            created_at=utcnow())
                session.add(user)
                unit.flush()
                out[name] = (user.id, issue_token(unit, user).token)
        return out

    def officer_id(self, name: str) -> int:
        return self.users[name][0]

    @initialize(owners=st.lists(st.sampled_from((None,) + OFFICERS), min_size=N_CASES, max_size=N_CASES),
                second_device=st.booleans(), batch=st.integers(1, 3), seed=st.integers(0, 2**16))
    def setup(self, owners, second_device, batch, seed) -> None:
        self.rng.seed(seed)
        for i, owner in enumerate(owners):
            resp = self.client.post("/api/cases", json=child(
                last_name=f"Model{i}", contact_phone=PHONES[0], contact_email=EMAILS[0],
                carers=[{"name": f"Carer {i}", "relationship": "mother", "parental_responsibility": True,
                         "phone": PHONES[0]}]), headers=self.sup)
            assert resp.status_code == 201, resp.get_json()
            body = resp.get_json()
            self.cases.append(body["id"])
            self.carer_of[body["id"]] = body["carers"][0]["id"]
            if owner:
                self._assign(body["id"], self.officer_id(owner))
        names = list(OFFICERS) + (["officer"] if second_device else [])
        for slot, name in enumerate(names):
            device = Device(slot, name, self.officer_id(name), self.tmp / f"device{slot}-0",
                            FaultyWsgiAdapter(self.app, self.log, self._office), random.Random(seed + slot),
                            push_batch=batch, pull_limit=2)
            device.enrol(PASSWORD)
            self.devices.append(device)
            self._sync_ok(device)

    # ---- helpers ----------------------------------------------------------------------------------------
    def _assign(self, case_id: int, officer_id: int) -> None:
        resp = self.client.post("/api/assignments", json={"case_id": case_id, "officer_id": officer_id,
                                                         "due": date.today().isoformat()}, headers=self.sup)
        assert resp.status_code in (201, 409), resp.get_json()
        if resp.status_code == 201:
            self.ever_in_scope[officer_id].add(case_id)

    def _open_assignments(self) -> list[dict]:
        resp = self.client.get("/api/assignments", headers=self.sup)
        assert resp.status_code == 200
        return resp.get_json()

    def _live(self) -> list[Device]:
        return [d for d in self.devices if not d.erased]

    def _capture(self, device: Device, kind: str, case_id: int, fn, **extra) -> None:
        try:
            op_id = fn()
        except CaptureError:
            return  # refused on the doorstep, nothing queued (e.g. the snapshot has no assignment id)
        self.captured[op_id] = Captured(op_id, device.slot, device.device_id, kind, case_id, **extra)

    def _held_case(self, device: Device, data) -> int | None:
        held = sorted(device.holdings())
        return data.draw(st.sampled_from(held), label="case") if held else None

    def _sync_ok(self, device: Device) -> None:
        """A fault-free sync that must succeed (used at setup and at the end)."""
        device.adapter.faults = []
        report = device.engine.sync()
        self._check_after_sync(device, report)
        assert device.outbox_ids() == set() and report.photos_failed == 0, f"a fault-free sync left work: {report}"

    def _check_after_sync(self, device: Device, report) -> None:
        """S1/S2. A photo whose upload failed (recorded, not raised) keeps its attach op, and its case may stay
        'leaving' until that op is sent; nothing else may be left behind by a sync that completed."""
        facts = server_facts(self.uow)
        scope = facts.scope.get(device.officer_id, set())
        waiting = {op_id for op_id in device.outbox_ids()
                   if not (self.captured[op_id].kind == "attach_photo" and op_id not in device.uploads_done())}
        assert waiting == set(), f"ops left in the outbox after a complete sync: {waiting}"
        assert not device.outbox_ids() or report.photos_failed, "attach ops waiting though no upload failed"
        pending_cases = {self.captured[op_id].case_id for op_id in device.outbox_ids()}
        assert set(device.leaving()) <= pending_cases, f"cases left 'leaving' with nothing to send: {device.leaving()}"
        expected = {cid: facts.versions[cid] for cid in scope}
        held = {cid: v for cid, v in device.holdings().items() if cid not in device.leaving()}
        assert held == expected, f"device {device.device_id} holds {held}, its scope is {expected}"
        assert facts.holdings.get(device.device_id, {}) == expected, (
            f"the server thinks device {device.device_id} holds {facts.holdings.get(device.device_id)}")
        assert report.consistent is True, f"the consistency check did not match: {report}"
        snapshots = device.snapshots()
        for case_id, content in scope_content(self.uow, device.officer_id).items():
            assert dumps(held_content(snapshots[case_id])) == dumps(content), (
                f"device {device.device_id} holds case {case_id} v{expected[case_id]} with other content:\n"
                f"{dumps(held_content(snapshots[case_id]))}\n{dumps(content)}")

    # ---- rules: capture on the doorstep (offline) -------------------------------------------------------
    @precondition(lambda self: any(d.holdings() for d in self._live()))
    @rule(data=st.data(), outcome=st.sampled_from(("no_answer", "child_seen", "refused")))
    def record_visit(self, data, outcome) -> None:
        device = data.draw(st.sampled_from([d for d in self._live() if d.holdings()]), label="device")
        case_id = self._held_case(device, data)
        self._capture(device, "record_home_visit", case_id,
                      lambda: device.engine.capture.record_visit(case_id, outcome, notice_left=outcome == "no_answer"))

    @precondition(lambda self: any(d.holdings() for d in self._live()))
    @rule(data=st.data(), result=st.sampled_from(("confirmed_at_address", "no_record")))
    def record_address_check(self, data, result) -> None:
        device = data.draw(st.sampled_from([d for d in self._live() if d.holdings()]), label="device")
        case_id = self._held_case(device, data)
        self._capture(device, "record_address_check", case_id,
                      lambda: device.engine.capture.record_address_check(case_id, "council_tax", result))

    @precondition(lambda self: any(d.holdings() for d in self._live()))
    @rule(data=st.data())
    def acknowledge_assignment(self, data) -> None:
        device = data.draw(st.sampled_from([d for d in self._live() if d.holdings()]), label="device")
        case_id = self._held_case(device, data)
        self._capture(device, "acknowledge_assignment", case_id,
                      lambda: device.engine.capture.acknowledge_assignment(case_id))

    @precondition(lambda self: any(d.holdings() for d in self._live()))
    @rule(data=st.data(), fields=st.sets(st.sampled_from(FIELDS), min_size=1, max_size=2),
          index=st.integers(0, 5))
    def propose_change(self, data, fields, index) -> None:
        device = data.draw(st.sampled_from([d for d in self._live() if d.holdings()]), label="device")
        case_id = self._held_case(device, data)
        changes = {}
        for name in sorted(fields):
            path = f"carers.{self.carer_of[case_id]}.phone" if name == "carer_phone" else name
            changes[path] = _value(name, index)
        base = device.holdings()[case_id]
        self._capture(device, "propose_case_change", case_id, lambda: device.engine.capture.propose_change(case_id, changes),
                      changes=changes, base_version=base)

    @precondition(lambda self: any(d.holdings() for d in self._live()))
    @rule(data=st.data(), device_field=st.sampled_from(FIELDS), supervisor_field=st.sampled_from(FIELDS),
          device_index=st.integers(0, 5), supervisor_index=st.integers(0, 5))
    def concurrent_edits(self, data, device_field, supervisor_field, device_index, supervisor_index) -> None:
        """An officer edits a held case offline while the supervisor edits the same case in the office (the two
        most likely ways to meet: the same field, or two different ones)."""
        device = data.draw(st.sampled_from([d for d in self._live() if d.holdings()]), label="device")
        case_id = self._held_case(device, data)
        path = f"carers.{self.carer_of[case_id]}.phone" if device_field == "carer_phone" else device_field
        changes = {path: _value(device_field, device_index)}
        base = device.holdings()[case_id]
        self._capture(device, "propose_case_change", case_id, lambda: device.engine.capture.propose_change(case_id, changes),
                      changes=changes, base_version=base)
        self.supervisor_edits(self.cases.index(case_id), supervisor_field, supervisor_index, stale=False)

    @precondition(lambda self: any(d.visits() for d in self._live()))
    @rule(data=st.data(), size=st.integers(1, 3000))
    def add_photo(self, data, size) -> None:
        device = data.draw(st.sampled_from([d for d in self._live() if d.visits()]), label="device")
        visit = data.draw(st.sampled_from(device.visits()), label="visit")
        content = self.rng.randbytes(size)
        case_id = device.store.records.get("visits", visit)["case_id"]
        self._capture(device, "attach_photo", case_id, lambda: device.engine.capture.add_photo(visit, content, "image/jpeg"))

    # ---- rules: the supervisor ------------------------------------------------------------------------------
    @rule(case=st.integers(0, N_CASES - 1), field=st.sampled_from(FIELDS), index=st.integers(0, 5),
          stale=st.booleans())
    def supervisor_edits(self, case, field, index, stale) -> None:
        case_id = self.cases[case]
        read = self.client.get(f"/api/cases/{case_id}", headers=self.sup)
        assert read.status_code == 200
        version = read.get_json()["version"]
        if field == "carer_phone":
            carer = dict(read.get_json()["carers"][0])
            carer["phone"] = _value(field, index)
            body = {"carers": [carer]}
        else:
            body = {field: _value(field, index)}
        headers = {**self.sup, "If-Match": f'"{version - 1 if stale else version}"'}
        resp = self.client.patch(f"/api/cases/{case_id}", json=body, headers=headers)
        assert resp.status_code == (412 if stale else 200), resp.get_json()
        if resp.status_code == 200 and resp.get_json()["version"] > version:
            carer = self.carer_of[case_id]
            paths = {f"carers.{carer}.phone", f"carers.{carer}.email"} if field == "carer_phone" else {field}
            self.supervisor_writes.append((case_id, resp.get_json()["version"], paths))

    @rule(case=st.integers(0, N_CASES - 1), officer=st.sampled_from(OFFICERS))
    def assign(self, case, officer) -> None:
        case_id = self.cases[case]
        officer_id = self.officer_id(officer)
        if any(a["case_id"] == case_id and a["officer_id"] == officer_id for a in self._open_assignments()):
            return
        self._assign(case_id, officer_id)

    @rule(data=st.data(), reassign=st.booleans())
    def end_or_reassign(self, data, reassign) -> None:
        open_ = self._open_assignments()
        if open_:
            self._end_or_reassign(data.draw(st.sampled_from(open_), label="assignment"), reassign)

    def _end_or_reassign(self, a: dict, reassign: bool) -> None:
        if reassign:
            other = next(oid for name, (oid, _) in self.users.items() if name in OFFICERS and oid != a["officer_id"])
            resp = self.client.post(f"/api/assignments/{a['id']}/reassign", json={"officer_id": other},
                                    headers=self.sup)
            assert resp.status_code in (201, 409), resp.get_json()  # 409: the case is closed
            if resp.status_code == 201:
                self.ever_in_scope[other].add(a["case_id"])
        else:
            resp = self.client.post(f"/api/assignments/{a['id']}/end", headers=self.sup)
            assert resp.status_code == 200, resp.get_json()

    def _office(self) -> None:
        """The supervisor acts while a device is mid-sync (the "office" network mode): drawn from the example's
        seeded generator, so a failing example replays the same way."""
        rng, case = self.rng, self.rng.randrange(N_CASES)
        self.office_acted = True
        action = rng.randrange(4)
        self.log.append(f"office action {action} on case index {case}")
        if action == 0:
            self.supervisor_edits(case, rng.choice(FIELDS), rng.randrange(6), stale=False)
        elif action == 1:
            self.assign(case, rng.choice(OFFICERS))
        elif action == 2:
            open_ = self._open_assignments()
            if open_:
                self._end_or_reassign(rng.choice(open_), rng.random() < 0.5)
        else:
            self.close_or_reopen(case, rng.random() < 0.5)

    @rule(case=st.integers(0, N_CASES - 1), close=st.booleans())
    def close_or_reopen(self, case, close) -> None:
        case_id = self.cases[case]
        if close:
            body = {"target": "closed", "closure": {"reason": "referral_unfounded", "school_name": "Fictown Primary",
                                                    "on_roll_date": "2025-01-06"}}
        else:
            body = {"target": "open"}
        resp = self.client.post(f"/api/cases/{case_id}/transitions", json=body, headers=self.sup)
        assert resp.status_code in (200, 409, 422), resp.get_json()
        if resp.status_code == 200:
            paths = {"status", "closed_at", "close_reason"} if close else {"status"}
            self.supervisor_writes.append((case_id, resp.get_json()["version"], paths))

    @rule(data=st.data(), reject=st.booleans(), picks=st.lists(st.booleans(), min_size=4, max_size=4))
    def resolve_review(self, data, reject, picks) -> None:
        """The supervisor works the review queue: accepts soft conflicts, picks a value for each hard one,
        accepts a kept visit/check onto its case or rejects an item with a reason."""
        resp = self.client.get("/api/review", headers=self.sup)
        assert resp.status_code == 200
        if not resp.get_json():
            return
        item = data.draw(st.sampled_from(resp.get_json()), label="review item")
        body: dict = {"decision": "reject", "note": "not needed (model)"}
        if item["category"] == "conflict_soft" and not reject:
            body = {"decision": "accept"}
        elif item["category"] == "conflict_hard":
            choices = {path: "device" if pick else "server" for path, pick in zip(sorted(item["values"]), picks)}
            body = {"decision": "pick", "choices": choices}
        elif item["reason"] in ("out_of_scope", "case_closed") and item["op"]["kind"] in FACT_KINDS and not reject:
            body = {"decision": "accept"}
        before = server_facts(self.uow).versions.get(item["case_id"])
        current = self._field_values(item["case_id"])
        resp = self.client.post(f"/api/review/{item['id']}/resolve", json=body, headers=self.sup)
        if body["decision"] == "pick" and resp.status_code == 409:
            moved = [p for p, pick in body["choices"].items()
                     if pick == "device" and not _same_value(p, current.get(p), item["values"][p][0])]
            assert moved, f"a pick was refused though no field moved on since the conflict: {resp.get_json()}"
            return
        assert resp.status_code == 200, (body, resp.get_json())
        after = server_facts(self.uow).versions.get(item["case_id"])
        if body["decision"] == "pick":
            for path, pick in body["choices"].items():
                assert pick == "server" or _same_value(path, current.get(path), item["values"][path][0]), (
                    f"picking the device's {path} overwrote {current.get(path)!r}, written after the conflict "
                    f"between {item['values'][path]!r} was kept: the supervisor never saw it")
        if body["decision"] == "pick" and after != before:
            device_wins = {path for path, pick in body["choices"].items() if pick == "device"}
            self.supervisor_writes.append((item["case_id"], after, device_wins))

    def _field_values(self, case_id: int) -> dict:
        """The device-editable fields of a case as the supervisor reads them, by field path."""
        case = self.client.get(f"/api/cases/{case_id}", headers=self.sup).get_json()
        values = {name: case[name] for name in ("contact_phone", "contact_email", "current_address")}
        for carer in case["carers"]:
            values[f"carers.{carer['id']}.phone"] = carer["phone"]
            values[f"carers.{carer['id']}.email"] = carer["email"]
        return values

    @precondition(lambda self: any(not d.revoked_on_server and not d.erased for d in self.devices))
    @rule(data=st.data())
    def order_resync(self, data) -> None:
        device = data.draw(st.sampled_from([d for d in self.devices if not d.revoked_on_server and not d.erased]),
                           label="device")
        resp = self.client.post(f"/api/devices/{device.device_id}/resync", headers=self.sup)
        assert resp.status_code == 200, resp.get_json()

    @precondition(lambda self: self.revocations < MAX_REVOCATIONS
                  and any(not d.revoked_on_server and not d.erased for d in self.devices))
    @rule(data=st.data())
    def revoke(self, data) -> None:
        self.revocations += 1
        device = data.draw(st.sampled_from([d for d in self.devices if not d.revoked_on_server and not d.erased]),
                           label="device")
        resp = self.client.post(f"/api/devices/{device.device_id}/revoke", headers=self.sup)
        assert resp.status_code == 200, resp.get_json()
        device.revoked_on_server = True  # the device learns at its next contact

    # ---- rules: sync over a faulty network --------------------------------------------------------------
    @rule(data=st.data(), plan=faults)
    def sync(self, data, plan) -> None:
        self._sync(data.draw(st.sampled_from(self.devices), label="device"), plan)

    @rule(plans=st.lists(faults, min_size=3, max_size=3))
    def sync_everyone(self, plans) -> None:
        for device, plan in zip(self.devices, plans):
            self._sync(device, plan)

    def _sync(self, device: Device, plan: list[str]) -> None:
        if device.erased:
            self._reenrol(device)
            return
        before = device.outbox_ids()
        device.adapter.faults = list(plan)
        self.office_acted = False
        try:
            report = device.engine.sync()
        except TransportError:
            return  # gave up for now (retries exhausted, or a 5xx): the outbox keeps everything
        except ProcessDied:
            device.die_and_reopen()
            after = device.outbox_ids()
            recorded = set(server_facts(self.uow).applied)
            assert before - after <= recorded, f"ops left the outbox without reaching the server: {before - after}"
            return
        except DeviceRevoked:
            assert device.revoked_on_server, "a device that was not revoked was told to erase itself"
            assert device.erased, "a revoked device did not erase its store"
            self.wiped_devices.add(device.device_id)
            return
        finally:
            device.adapter.faults = []
        assert not device.revoked_on_server, "a revoked device completed a sync"
        if not self.office_acted:  # S2 compares with the server at the end of the sync: only if it held still
            self._check_after_sync(device, report)

    def _reenrol(self, device: Device) -> None:
        """The officer enrols a fresh device in place of the erased one (a new store, a new device id)."""
        device.close()
        self.enrolments += 1
        device.directory = self.tmp / f"device{device.slot}-{self.enrolments}"
        device.enrol(PASSWORD)
        self._sync_ok(device)

    # ---- invariants -------------------------------------------------------------------------------------------
    @invariant()
    def nothing_captured_is_lost(self) -> None:
        if not self.devices:
            return
        facts = server_facts(self.uow)
        outboxes = {d.device_id: d.outbox_ids() for d in self.devices}
        for op_id, op in self.captured.items():
            if op_id in facts.applied:
                self._judged_once(op, facts)
            elif op.device_id in self.wiped_devices:
                continue  # erased with its device: the loss revocation is designed to cause
            else:
                assert op_id in outboxes.get(op.device_id, set()), (
                    f"op {op_id} ({op.kind} on case {op.case_id}) is neither on the server nor in its outbox")
        known = set(self.captured)
        assert set(facts.applied) <= known, f"unknown ops recorded: {set(facts.applied) - known}"
        assert set(facts.enquiries) <= known and set(facts.reviews) <= known and set(facts.photos) <= known

    def _judged_once(self, op: Captured, facts) -> None:
        status, case_id, result = facts.applied[op.op_id]
        enquiries, reviews = facts.enquiries.get(op.op_id, []), facts.reviews.get(op.op_id, [])
        where = f"op {op.op_id} ({op.kind} on case {op.case_id}, first status {status})"
        assert status in VERDICTS, f"{where}: recorded with a non-verdict status"
        assert case_id == op.case_id, f"{where}: recorded against case {case_id}"
        photos = facts.photos.get(op.op_id, [])
        if status == OpStatus.applied.value:
            expected = [op.case_id] if op.kind in FACT_KINDS else []
            assert enquiries == expected, f"{where}: enquiries {enquiries}"
            assert photos == ([op.case_id] if op.kind == "attach_photo" else []), f"{where}: photos {photos}"
            assert reviews == [], f"{where}: unexpected review items {reviews}"
        elif status in (OpStatus.conflict_soft.value, OpStatus.conflict_hard.value):
            assert op.kind == "propose_case_change", f"{where}: only field edits conflict"
            assert [r[0] for r in reviews] == [status], f"{where}: review items {reviews}"
            assert enquiries == []
        else:
            assert [(r[0], r[1]) for r in reviews] == [(status, result.get("reason"))], f"{where}: {reviews}"
            accepted = reviews[0][3] == "accept"  # a supervisor admitted the kept fact onto its case
            assert enquiries == ([op.case_id] if accepted else []) and photos == [], (
                f"{where}: quarantined ({reviews[0][3] or 'open'}), enquiries {enquiries}, photos {photos}")

    @invariant()
    def hard_conflicts_keep_both_values(self) -> None:
        if not self.devices:
            return
        facts = server_facts(self.uow)
        for op_id, (status, _, result) in facts.applied.items():
            op = self.captured.get(op_id)
            if op is None or op.kind != "propose_case_change" or status not in VERDICTS - {"quarantined"}:
                continue
            hard = result.get("hard_fields") or {}
            applied = set((result.get("result") or {}).get("applied_fields") or [])
            assert applied | set(hard) == set(op.changes) and not applied & set(hard), (
                f"op {op_id}: proposed {sorted(op.changes)}, applied {sorted(applied)}, hard {sorted(hard)}")
            if status == OpStatus.conflict_soft.value:
                others = {path for writer, paths in self._writes_since(op, facts)
                          if writer != f"device:{op.device_id}" for path in paths} - set(op.changes)
                assert others, (f"op {op_id}: a soft conflict on case {op.case_id}, but since base version "
                                f"{op.base_version} nobody else wrote another field")
            if status != OpStatus.conflict_hard.value:
                assert not hard, f"op {op_id} ({status}) reports hard fields {hard}"
                continue
            values = facts.reviews[op_id][0][2] or {}
            assert set(values) == set(hard) and hard, f"op {op_id}: review values {values}, result {hard}"
            for path, pair in values.items():
                assert isinstance(pair, list) and len(pair) == 2, f"op {op_id}: {path} -> {pair}"
                server_value, device_value = pair
                assert dumps(device_value) == dumps(op.changes[path]), (
                    f"op {op_id}: kept device value {device_value!r}, the officer proposed {op.changes[path]!r}")
                assert _same_value(path, server_value, device_value) is False, (
                    f"op {op_id}: {path} is a hard conflict between equal values {server_value!r} and {device_value!r}")
                assert dumps(hard[path]) == dumps(pair), f"op {op_id}: answer {hard[path]} vs kept {pair}"
                others = self._writers_since(op, path, facts) - {f"device:{op.device_id}"}
                assert others, (f"op {op_id}: {path} on case {op.case_id} is a hard conflict, but since base "
                                f"version {op.base_version} only this device's own earlier edits wrote it")

    def _writes_since(self, op: Captured, facts) -> list[tuple[str, set[str]]]:
        """(writer, field paths) of every write to the op's case in a version after its base: the supervisor's
        edits, closures and review picks, and other field edits as their results report them. It may list too
        much (an edit's applied field can already hold its value), never too little: fine for "someone did"."""
        writes = [("supervisor", paths) for case_id, version, paths in self.supervisor_writes
                  if case_id == op.case_id and version > op.base_version]
        for other_id, (_, case_id, result) in facts.applied.items():
            other = self.captured.get(other_id)
            if other is None or other.kind != "propose_case_change" or case_id != op.case_id or other_id == op.op_id:
                continue
            if (result.get("case_version") or 0) > op.base_version:
                writes.append((f"device:{other.device_id}",
                               set((result.get("result") or {}).get("applied_fields") or [])))
        return writes

    def _writers_since(self, op: Captured, path: str, facts) -> set[str]:
        return {writer for writer, paths in self._writes_since(op, facts) if path in paths}

    @invariant()
    def no_device_was_told_clash(self) -> None:
        """A resend (after a lost answer, a duplicate, a crash) carries the same content: never a clash."""
        for device in self._live():
            clashes = [v for v in device.verdicts() if v["status"] == OpStatus.clash.value]
            assert not clashes, f"device {device.device_id} was told clash: {clashes}"

    @invariant()
    def devices_hold_only_what_they_were_given(self) -> None:
        for device in self._live():
            extra = set(device.holdings()) - self.ever_in_scope[device.officer_id]
            assert not extra, f"device {device.device_id} holds cases never in its officer's scope: {extra}"

    @invariant()
    def audit_covers_every_change(self) -> None:
        if self.devices:
            gaps = audit_gaps(self.uow)
            assert not gaps, "changes without an audit entry:\n" + "\n".join(gaps)

    # ---- the end ---------------------------------------------------------------------------------------------
    def final_checks(self) -> None:
        for device in self.devices:
            device.adapter.release_held()
        for round_ in range(2):  # the first round pushes everything; the second changes nothing, so all agree
            for device in self.devices:
                if device.erased:
                    self._reenrol(device)
                    continue
                try:
                    self._sync_ok(device)
                except DeviceRevoked:
                    assert device.revoked_on_server and device.erased
                    self.wiped_devices.add(device.device_id)
                    self._reenrol(device)
        self.nothing_captured_is_lost()
        self.hard_conflicts_keep_both_values()
        self.audit_covers_every_change()
        facts = server_facts(self.uow)
        lost = [op for op in self.captured.values() if op.op_id not in facts.applied]
        assert all(op.device_id in self.wiped_devices for op in lost), "ops lost from a live device"
        SyncModel.stats["examples"] += 1
        SyncModel.stats["ops"] += len(self.captured)
        SyncModel.stats["lost_to_revocation"] += len(lost)
        for op_id, (status, _, result) in facts.applied.items():
            key = f"{self.captured[op_id].kind}:{status}" + (f":{result.get('reason')}" if result.get("reason") else "")
            if self.captured[op_id].kind == "attach_photo" and status == "quarantined":
                key += ":" + str(result.get("detail"))[:60]
            SyncModel.stats[key] = SyncModel.stats.get(key, 0) + 1
        for items in facts.reviews.values():
            for category, _, _, resolution in items:
                key = f"review:{category}:{resolution or 'open'}"
                SyncModel.stats[key] = SyncModel.stats.get(key, 0) + 1
        for line in self.log:
            if "[" not in line:
                continue
            mode = line.rsplit("[", 1)[-1].rstrip("]")
            SyncModel.stats[f"net:{mode}"] = SyncModel.stats.get(f"net:{mode}", 0) + 1

    stats: dict[str, int] = {"examples": 0, "ops": 0, "lost_to_revocation": 0}

    def teardown(self) -> None:
        try:
            if sys.exc_info()[0] is None and self.devices:
                self.final_checks()
        finally:
            for device in self.devices:
                device.close()
            self.app.extensions["cme"]["engine"].dispose()
            shutil.rmtree(self.tmp, ignore_errors=True)


def test_sync_model(database_template, capsys) -> None:
    SyncModel.template = database_template
    run_state_machine_as_test(SyncModel, settings=MODEL_SETTINGS)
    with capsys.disabled():
        print(f"\nsync model: {SyncModel.stats}")

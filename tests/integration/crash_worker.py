"""A field-client process to be killed: it writes to an encrypted device store until SIGKILL arrives.

Run as a script (`python tests/integration/crash_worker.py STORE_DIR LOG_FILE SEED`; the candidate passphrases,
current one first, are a JSON list in env CRASH_PASSES). It prints "ready" once its imports are done, opens the
store (creating it, with a cheap KDF, if there is none) and then loops over random actions: enqueue ops (one or a
few in one transaction), acknowledge some, replace a generation of records together with their cursor in one
`transaction()`, put/replace/delete photos of 1-3 MiB, change the passphrase, capture a visit (and a photo) through
the engine, and run the real SyncEngine against the in-memory FakeServer (tests/unit/field_client), so a kill can
land anywhere, inside a sync too.

The side log (JSON lines, each fsynced) is the ground truth: "<action>-begin" is written before a store call and
"<action>-done" only after it returned, so a "-done" is an acknowledged write. The fake server logs the op ids of
every push it receives before it answers ("srv-push"), which is the only way an op may leave the outbox without a
logged acknowledge. `Model` (used by the test) replays the logs; `observe` reads and decrypts everything in a
store and checks what the store alone can vouch for. A worker also observes the store on opening and logs it, so
kills can land while the next process recovers a crashed store (the test then does not open it in between).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import random
import secrets
import sys
import time
import uuid
from pathlib import Path
from typing import Any

if __name__ == "__main__":  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from field_client import state  # noqa: E402
from field_client.engine import SyncEngine  # noqa: E402
from field_client.store import Store, StoreErased, WrongPassphrase  # noqa: E402
from field_client.store.files import BUILDING  # noqa: E402
from field_client.transport import Transport  # noqa: E402
from sync.cursor import decode_cursor  # noqa: E402
from tests.unit.field_client.fake_sync_server import BASE, TOKEN, FakeServer, make_case  # noqa: E402

MARK = "CRASHMARK"  # inside every plaintext the worker writes; must never appear in the raw files
GEN_TABLE, GEN_CURSOR = "gen_cases", "gen_cursor"
CASE_IDS = range(1, 6)
KDF_N, CHUNK = 2**10, 512 * 1024
STORE_FILES = {"store.db", "store.db-wal", "store.db-shm", "store.db-journal"}
LEFTOVER = BUILDING  # a creation cut short may leave store.db.<random>.building*: no case data, removed later
WORKER_DEADLINE = 30.0  # seconds: a worker nobody kills stops by itself


def op_fp(op: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(op, sort_keys=True).encode()).hexdigest()


def _sql(store: Store, query: str) -> list[tuple[Any, ...]]:
    # For SQLite's own checks; ids are sealed, so listings go through the store.
    return store.core.db().execute(query).fetchall()


def observe(store: Store, deep: bool = True) -> dict[str, Any]:
    """Decrypt everything in the store (StoreTampered on any damage) and check what the store alone vouches for;
    `deep` adds SQLite's integrity_check (slow on a big store, so workers leave it to the test)."""
    problems: list[str] = []
    outbox = store.outbox.pending()
    for table in store.records.tables():
        store.records.list(table)
    kv = {key: store.state.get(key) for key in store.state.keys()}
    shas = {pid: hashlib.sha256(store.photos.read(pid)).hexdigest() for pid in store.photos.ids()}
    gen = kv.get(GEN_CURSOR)
    records = store.records.list(GEN_TABLE)
    if any(version != gen or data["gen"] != gen for _, version, data in records):
        problems.append(f"records of generations {sorted({d['gen'] for _, _, d in records})} beside cursor {gen}")
    uploads = kv.get(state.UPLOADS, {})
    for item in outbox:
        if item.kind == "attach_photo" and (item.op_id not in shas or item.op_id not in uploads):
            problems.append(f"attach op {item.op_id} is pending but its photo or upload entry is gone")
        if item.kind == "record_home_visit" and store.records.get(state.VISITS, item.op_id) is None:
            problems.append(f"visit op {item.op_id} is pending but its visit record is gone")
    held = {int(case_id) for case_id, _ in store.records.ids_and_versions(state.CASES)}
    if not set(kv.get(state.LEAVING, [])) <= held:
        problems.append("a case listed as leaving is not held")
    if kv.get(state.CURSOR) is not None:
        decode_cursor(kv[state.CURSOR])  # CursorInvalid if the pull cursor is not one the server made
    check = _sql(store, "PRAGMA integrity_check") if deep else [("ok",)]
    if check != [("ok",)]:
        problems.append(f"integrity_check: {check[:5]}")
    return {"outbox": [[item.op_id, op_fp(item.op)] for item in outbox], "photos": shas,
            "gen": [gen, len(records)], "problems": problems}


def open_any(directory: Path, passes: list[str]) -> tuple[Store, str]:
    """Open with the first candidate passphrase that works (WrongPassphrase if none does)."""
    for passphrase in passes:
        try:
            return Store.open(directory, passphrase), passphrase
        except WrongPassphrase:
            continue
    raise WrongPassphrase(f"none of {len(passes)} candidate passphrases opens the store")


def scan_raw(directory: Path, secrets_: list[str], leftovers_ok: bool = False) -> list[str]:
    """Problems in the raw files: unexpected files, plaintext markers or passphrases on disk."""
    problems = []
    for entry in directory.iterdir():
        if entry.name not in STORE_FILES and not (leftovers_ok and LEFTOVER in entry.name):
            problems.append(f"unexpected file {entry.name} in the store directory")
        data = entry.read_bytes()
        for needle in [MARK] + secrets_:
            if needle.encode() in data:
                problems.append(f"plaintext {needle[:12]!r} found in {entry.name}")
    return problems


class Model:
    """What the logs promise about the store; `check` compares an observation with it, `resolve` adopts it."""

    def __init__(self, passphrase: str) -> None:
        self.passes = [passphrase]
        self.ops: dict[str, dict[str, Any]] = {}  # op id -> {"state": present|absent|either, "fp", "sha"}
        # (what, ops): one transaction under way when the process died, so all present or all absent
        self.groups: list[tuple[str, list[str]]] = []
        self.photos: dict[str, set[str | None]] = {}  # worker photo id -> acceptable sha256 (None: absent)
        self.gens: set[tuple[int | None, int]] = {(None, 0)}  # acceptable (cursor, record count)
        self.created: bool | None = False  # None: a create was under way
        self.erasing = False  # an erase began and did not return: the store may be gone
        self.phase = "idle"

    def apply(self, event: dict[str, Any]) -> None:
        name = event["e"]
        self.phase = name[:-6] if name.endswith("-begin") else "open" if name == "opening" else (
            self.phase if name == "srv-push" else "idle")
        handler = getattr(self, "_" + name.replace("-", "_"), None)
        if handler is not None:
            handler(event)

    def _close(self, what: str) -> list[str]:
        """The transaction `what` returned: its group no longer constrains; return the ops it held."""
        closed = [op_id for name, group in self.groups if name == what for op_id in group]
        self.groups = [(name, group) for name, group in self.groups if name != what]
        return closed

    def _set(self, ids: list[str], new: str, only: str | None = None) -> list[str]:
        touched = [i for i in ids if only is None or self.ops[i]["state"] == only]
        for op_id in touched:
            self.ops[op_id]["state"] = new
        return touched

    def absent(self) -> None:
        """The store is gone (an erase finished, or a create never completed): nothing of it may come back."""
        if self.created is True and not self.erasing:
            raise AssertionError("the store vanished although no erase was under way")
        self.ops = {op_id: dict(op, state="absent") for op_id, op in self.ops.items()}
        self.photos = {pid: {None} for pid in self.photos}
        self.groups, self.gens, self.created, self.erasing = [], {(None, 0)}, False, False

    def _erase_begin(self, _: dict[str, Any]) -> None:
        self.erasing = True

    def _erase_done(self, _: dict[str, Any]) -> None:
        self.absent()

    def _found_none(self, _: dict[str, Any]) -> None:
        self.absent()

    def _create_begin(self, event: dict[str, Any]) -> None:
        self.created, self.passes = None, [event["passphrase"]]

    def _create_done(self, _: dict[str, Any]) -> None:
        self.created = True

    def _opened(self, event: dict[str, Any]) -> None:
        problems = self.check(event["obs"]) + event["obs"]["problems"]
        if problems:
            raise AssertionError("a worker found on opening: " + "; ".join(problems))
        self.resolve(event["obs"], event["passphrase"])

    def _enq_begin(self, event: dict[str, Any]) -> None:
        for op_id, fp in zip(event["ids"], event["fps"]):
            self.ops[op_id] = {"state": "either", "fp": fp, "sha": None}
        if len(event["ids"]) > 1:
            self.groups.append(("enqueue", list(event["ids"])))

    def _enq_done(self, event: dict[str, Any]) -> None:
        self._close("enqueue")
        self._set(event["ids"], "present")

    def _cap_begin(self, event: dict[str, Any]) -> None:
        self.ops[event["id"]] = {"state": "either", "fp": None, "sha": event.get("sha")}

    def _cap_done(self, event: dict[str, Any]) -> None:
        self._set([event["id"]], "present")

    def _ack_begin(self, event: dict[str, Any]) -> None:
        self.groups.append(("acknowledge", self._set(event["ids"], "either", only="present")))

    def _ack_done(self, event: dict[str, Any]) -> None:
        self._close("acknowledge")
        self._set(event["ids"], "absent")

    def _sync_done(self, _: dict[str, Any]) -> None:
        # The fake server answers every op it receives, so a sync that returned acknowledged all it pushed.
        self._set(self._close("pushed batch"), "absent")

    def _srv_push(self, event: dict[str, Any]) -> None:
        # The engine acknowledges everything the server answered in one transaction.
        self.groups.append(("pushed batch", self._set([i for i in event["ids"] if i in self.ops], "either",
                                                      only="present")))

    def _photo_begin(self, event: dict[str, Any]) -> None:
        self.photos.setdefault(event["id"], {None}).add(event["sha"])

    def _photo_done(self, event: dict[str, Any]) -> None:
        self.photos[event["id"]] = {event["sha"]}

    def _photo_del_begin(self, event: dict[str, Any]) -> None:
        self.photos[event["id"]].add(None)

    def _photo_del_done(self, event: dict[str, Any]) -> None:
        self.photos[event["id"]] = {None}

    def _gen_begin(self, event: dict[str, Any]) -> None:
        self.gens.add((event["gen"], event["count"]))

    def _gen_done(self, event: dict[str, Any]) -> None:
        self.gens = {(event["gen"], event["count"])}

    def _pass_begin(self, event: dict[str, Any]) -> None:
        self.passes = self.passes + [event["new"]]

    def _pass_done(self, event: dict[str, Any]) -> None:
        self.passes = [event["new"]]

    def check(self, obs: dict[str, Any]) -> list[str]:
        problems = []
        held = dict((op_id, fp) for op_id, fp in obs["outbox"])
        for op_id, op in self.ops.items():
            if op["state"] == "present" and op_id not in held:
                problems.append(f"op {op_id} was enqueued and never acknowledged but is gone from the outbox")
            if op["state"] == "absent" and op_id in held:
                problems.append(f"op {op_id} was acknowledged but is back in the outbox")
            if op_id in held and op["fp"] not in (None, held[op_id]):
                problems.append(f"op {op_id} has changed content")
            if op["sha"] is not None and (op_id in held) != (obs["photos"].get(op_id) == op["sha"]):
                problems.append(f"attach op {op_id} and its photo disagree (op held: {op_id in held})")
        problems += [f"unknown op {op_id} in the outbox" for op_id in held if op_id not in self.ops]
        order = [op_id for op_id in self.ops if op_id in held]
        if order != list(held):
            problems.append("the outbox is not in enqueue order")
        for what, group in self.groups:
            if len({op_id in held for op_id in group}) > 1:
                problems.append(f"{what} half applied: {[i[:8] for i in group if i in held]} of {len(group)} held")
        for pid, acceptable in self.photos.items():
            if obs["photos"].get(pid) not in acceptable:
                problems.append(f"photo {pid} reads back as {obs['photos'].get(pid)!r}, expected one of {acceptable}")
        known = set(self.photos) | {i for i, op in self.ops.items() if op["sha"]}
        problems += [f"stray photo {pid}" for pid in obs["photos"] if pid not in known]
        if tuple(obs["gen"]) not in self.gens:
            problems.append(f"generation cursor/count {obs['gen']} not one of {sorted(self.gens, key=str)}")
        return problems

    def resolve(self, obs: dict[str, Any], passphrase: str) -> None:
        held = {op_id for op_id, _ in obs["outbox"]}
        self.ops = {op_id: dict(op, state="present" if op_id in held else "absent") for op_id, op in self.ops.items()}
        self.groups = []
        self.photos = {pid: {obs["photos"].get(pid)} for pid in self.photos}
        self.gens = {tuple(obs["gen"])}
        self.passes, self.created, self.erasing = [passphrase], True, False


def read_log(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    lines = path.read_bytes().split(b"\n")
    return [json.loads(line) for line in lines[:-1]]  # a last line without its newline was never complete


# ---- the worker ---------------------------------------------------------------------------------------------
class Worker:
    def __init__(self, directory: Path, log_path: Path, seed: int, passes: list[str]) -> None:
        self.dir, self.rng, self.passes = directory, random.Random(seed), passes
        self.log_fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self.store: Store | None = None
        self.pending: list[str] = []  # ops this worker may acknowledge itself (address checks)
        self.photos: dict[str, str] = {}
        self.gen = 0
        self.seed = seed

    def log(self, name: str, **fields: Any) -> None:
        os.write(self.log_fd, json.dumps(dict(fields, e=name)).encode() + b"\n")
        os.fsync(self.log_fd)

    def start(self) -> None:
        self.log("opening")
        if Store.exists(self.dir):
            try:
                self.store, passphrase = open_any(self.dir, self.passes)
                self.passes = [passphrase]
            except StoreErased:  # an erase was cut short; opening finished it
                pass
        if self.store is None:
            self.log("found-none")
            self._create(self.passes[0])
        obs = observe(self.store, deep=False)
        self.log("opened", obs=obs, passphrase=self.passes[0])
        if obs["problems"]:
            raise SystemExit("store problems on opening: " + "; ".join(obs["problems"]))
        kinds = {item.op_id: item.kind for item in self.store.outbox.pending()}
        self.pending = [op_id for op_id, _ in obs["outbox"] if kinds[op_id] == "record_address_check"]
        uploads = self.store.state.get(state.UPLOADS, {})
        self.photos = {pid: sha for pid, sha in obs["photos"].items() if pid not in uploads and pid not in kinds}
        self.gen = obs["gen"][0] or 0
        if self.store.state.get(state.DEVICE_TOKEN) is None:  # a create cut short before enrolment was saved
            self._enrol()
        self._engine()

    def _create(self, passphrase: str) -> None:
        self.log("create-begin", passphrase=passphrase)
        self.store = Store.create(self.dir, passphrase, kdf_n=KDF_N, chunk_size=CHUNK)
        self._enrol()
        self.log("create-done")
        self.passes = [passphrase]

    def _enrol(self) -> None:
        with self.store.transaction():
            for key, value in {state.SERVER_URL: BASE, state.DEVICE_ID: 11, state.DEVICE_TOKEN: TOKEN,
                               state.OFFICER_ID: 5, state.OFFLINE_TTL: 10**7,
                               state.LAST_CONTACT: state.utc_iso(state.local_now())}.items():
                self.store.state.set(key, value)

    def _engine(self) -> None:
        log, rng = self.log, self.rng

        class LoggingServer(FakeServer):
            def handle(self, request: Any) -> Any:
                time.sleep(rng.uniform(0, 0.003))  # the network: a kill can land while a request is on its way
                response = super().handle(request)
                time.sleep(rng.uniform(0, 0.003))  # ... and while its answer is
                return response

            def _push(self, request: Any, query: Any) -> Any:
                log("srv-push", ids=[op.get("op_id") for op in json.loads(request.body)["ops"]])
                return super()._push(request, query)

        self.server = LoggingServer(offline_ttl=10**7)
        self.server._ids = itertools.count(self.rng.randrange(1, 10**9))  # upload ids unlike a past run's
        child = {"first_name": "Ada", "last_name": MARK, "preferred_name": None, "dob": "2013-04-05",
                 "gender": "female"}
        self.server.assign(*(make_case(i, child=child) for i in CASE_IDS))
        transport = Transport(BASE, TOKEN, session=self.server.session(), sleep=lambda _: None, attempts=2,
                              rng=random.Random(self.seed))
        self.next_ids: list[str] = []
        self.engine = SyncEngine(self.store, transport, sleep=lambda _: None, rng=random.Random(self.seed),
                                 new_op_id=self.next_ids.pop)  # op ids known (and logged) before the call

    def run(self) -> None:
        actions = [(self.enqueue, 30), (self.acknowledge, 12), (self.generation, 18), (self.photo, 10),
                   (self.passphrase, 8), (self.capture, 12), (self.sync, 13), (self.erase, 1)]
        deadline = time.monotonic() + WORKER_DEADLINE
        while time.monotonic() < deadline:
            self.rng.choices([a for a, _ in actions], [w for _, w in actions])[0]()

    def _op(self, op_id: str) -> dict[str, Any]:
        now = state.local_now().isoformat()
        return {"op_id": op_id, "kind": "record_address_check", "case_id": self.rng.choice(CASE_IDS),
                "device_time": now, "base_version": None,
                "payload": {"checked_at": now, "source": "council_tax", "result": "no_record",
                            "notes": f"{MARK} {secrets.token_hex(8)}"}}

    def enqueue(self) -> None:
        ops = [self._op(str(uuid.uuid4())) for _ in range(self.rng.choice([1, 1, 1, 2, 3, 4]))]
        ids = [op["op_id"] for op in ops]
        self.log("enq-begin", ids=ids, fps=[op_fp(op) for op in ops])
        with self.store.transaction():
            for op in ops:
                self.store.outbox.add(op["op_id"], str(op["case_id"]), op["kind"], op)
        self.log("enq-done", ids=ids)
        self.pending += ids

    def acknowledge(self) -> None:
        ids = self.rng.sample(self.pending, min(len(self.pending), self.rng.randint(1, 3)))
        if ids:
            self.log("ack-begin", ids=ids)
            self.store.outbox.acknowledge(ids)
            self.log("ack-done", ids=ids)
            self.pending = [i for i in self.pending if i not in ids]

    def generation(self) -> None:
        gen, count = self.gen + 1, self.rng.randint(1, 6)
        self.log("gen-begin", gen=gen, count=count)
        with self.store.transaction():
            for record_id, _ in self.store.records.ids_and_versions(GEN_TABLE):
                self.store.records.delete(GEN_TABLE, record_id)
            for i in range(count):
                pad = os.urandom(self.rng.randint(100, 20000)).hex()
                self.store.records.put(GEN_TABLE, f"r{i}", gen, {"gen": gen, "i": i, "mark": MARK, "pad": pad})
            self.store.state.set(GEN_CURSOR, gen)
        self.log("gen-done", gen=gen, count=count)
        self.gen = gen

    def photo(self) -> None:
        if len(self.photos) >= 3 and self.rng.random() < 0.5:
            pid = self.rng.choice(sorted(self.photos))
            self.log("photo-del-begin", id=pid)
            self.store.photos.delete(pid)
            self.log("photo-del-done", id=pid)
            del self.photos[pid]
            return
        reuse = self.photos and self.rng.random() < 0.3
        pid = self.rng.choice(sorted(self.photos)) if reuse else f"wp-{secrets.token_hex(6)}"
        data = MARK.encode() + os.urandom(self.rng.randint(1 << 20, 3 << 20))
        sha = hashlib.sha256(data).hexdigest()
        self.log("photo-begin", id=pid, sha=sha)
        if self.store.photos.put(pid, data) != sha:
            raise SystemExit("photos.put returned the wrong digest")
        self.log("photo-done", id=pid, sha=sha)
        self.photos[pid] = sha

    def passphrase(self) -> None:
        new = f"pp-{secrets.token_hex(6)}"
        self.log("pass-begin", new=new)
        self.store.passphrase.change(self.passes[0], new)
        self.log("pass-done", new=new)
        self.passes = [new]

    def erase(self) -> None:
        """Crypto-erase the store (as a revoked device does) and enrol afresh with a new passphrase."""
        self.log("erase-begin")
        self.store.erase()
        self.log("erase-done")
        self.store, self.pending, self.photos, self.gen = None, [], {}, 0
        self._create(f"pp-{secrets.token_hex(6)}")
        self._engine()

    def capture(self) -> None:
        held = [int(cid) for cid, _ in self.store.records.ids_and_versions(state.CASES)]
        leaving = set(self.store.state.get(state.LEAVING, []))
        held = [cid for cid in held if cid not in leaving]
        if not held:
            return
        visit = str(uuid.uuid4())
        self.next_ids.append(visit)
        self.log("cap-begin", id=visit)
        self.engine.capture.record_visit(self.rng.choice(held), outcome="no_answer", notes=f"{MARK} visit")
        self.log("cap-done", id=visit)
        if self.rng.random() < 0.5:
            data = MARK.encode() + os.urandom(self.rng.randint(1 << 20, 3 << 20))
            sha, photo_op = hashlib.sha256(data).hexdigest(), str(uuid.uuid4())
            self.next_ids.append(photo_op)
            self.log("cap-begin", id=photo_op, sha=sha)
            self.engine.capture.add_photo(visit, data, "image/jpeg")
            self.log("cap-done", id=photo_op)

    def sync(self) -> None:
        if self.rng.random() < 0.2:
            self.server.unassign(self.rng.choice(CASE_IDS))  # exercise removals and the leaving list
        self.log("sync-begin")
        self.engine.sync()
        self.log("sync-done")
        kinds = {item.op_id: item.kind for item in self.store.outbox.pending()}
        self.pending = [i for i in self.pending if i in kinds]
        self.server.assign(*(self.server.cases[i] for i in CASE_IDS if i not in self.server.scope))


def main() -> None:
    directory, log_path, seed = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    worker = Worker(directory, log_path, seed, json.loads(os.environ["CRASH_PASSES"]))
    print("ready", flush=True)
    worker.start()
    worker.run()


if __name__ == "__main__":
    main()

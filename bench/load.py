"""Load on PostgreSQL: two server instances (gunicorn, several workers each) sharing one database, and a bounded
crowd of simulated field devices on loopback that enrol, pull, push visits (some twice, as a flaky network
would), upload a photo with tus and link it. Reports throughput, p50/p99 latency and errors, then checks in the
database that every op sent was applied exactly once.

    .venv/bin/python -m bench.load --database-url postgresql://postgres@127.0.0.1:5432/test [--devices 100]
"""
from __future__ import annotations

import base64
import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import click
import requests
from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, func, select

from bench.seed import drop_database, fresh_database, seed_officers
from server.adapters.models import Enquiry
from server.adapters.sync_models import AppliedOp

console = Console()
ROOT = Path(__file__).resolve().parents[1]
PROTO = {"CME-Sync-Protocol": "1"}


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.errors: list[str] = []

    def call(self, name: str, fn, *args, **kwargs) -> requests.Response | None:
        start = time.perf_counter()
        try:
            resp = fn(*args, timeout=60, **kwargs)
        except requests.RequestException as exc:
            with self.lock:
                self.errors.append(f"{name}: {exc.__class__.__name__}")
            return None
        elapsed = (time.perf_counter() - start) * 1000
        with self.lock:
            self.latency[name].append(elapsed)
            if resp.status_code >= 400:
                self.errors.append(f"{name}: HTTP {resp.status_code}")
        return resp


def start_instance(url: str, port: int, workers: int, blob_dir: Path, log: Path) -> subprocess.Popen:
    # Photos go into the database: the two instances share no disk, only PostgreSQL.
    env = {**os.environ, "DATABASE_URL": url, "CME_BLOB_DIR": str(blob_dir), "CME_BLOB_STORE": "database"}
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}",
                             "--timeout", "120", "server.wsgi:app"], cwd=ROOT, env=env,
                            stdout=open(log, "ab"), stderr=subprocess.STDOUT)
    for _ in range(300):
        try:
            requests.get(f"http://127.0.0.1:{port}/api/openapi.json", timeout=5)
            return proc
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError(f"instance on {port} did not start: {log.read_text()[-2000:]}")


def enrol(base: str, username: str, password: str, rec: Recorder, name: str = "enrol") -> str | None:
    resp = rec.call(name, requests.post, f"{base}/api/devices/enrol", headers=PROTO,
                    json={"username": username, "password": password, "device_name": f"load-{username}"})
    return resp.json()["device_token"] if resp is not None and resp.status_code == 201 else None


def device_run(base: str, username: str, password: str, rec: Recorder, visits: int, sent: list[str],
               photo: bytes, token: str | None = None) -> None:
    """Enrol (unless `token` is given: enrolled beforehand), then one device's sync work."""
    s = requests.Session()
    token = token or enrol(base, username, password, rec)
    if token is None:
        return
    h = {**PROTO, "Authorization": f"Bearer {token}"}
    page = rec.call("pull", s.get, f"{base}/api/sync/pull", headers=h, params={"limit": 100})
    if page is None or page.status_code != 200:
        return
    case_ids = [c["id"] for c in page.json()["cases"]]
    now = datetime.now(UTC).isoformat()
    ops = [{"op_id": str(uuid.uuid4()), "kind": "record_home_visit", "case_id": case_ids[i % len(case_ids)],
            "device_time": now, "payload": {"visited_at": now, "outcome": "no_answer"}} for i in range(visits)]
    for i in range(0, len(ops), 5):
        batch = ops[i:i + 5]
        rec.call("push", s.post, f"{base}/api/sync/push", headers=h, json={"ops": batch})
        if i == 0:  # a retry after a lost response: the same batch again must not apply twice
            rec.call("push", s.post, f"{base}/api/sync/push", headers=h, json={"ops": batch})
    sent.extend(o["op_id"] for o in ops)
    upload_and_link(s, base, h, rec, ops[0], photo, sent)
    rec.call("pull", s.get, f"{base}/api/sync/pull", headers=h,
             params={"limit": 100, "cursor": page.json()["cursor"]})


def upload_and_link(s, base, h, rec, visit, photo: bytes, sent: list[str]) -> None:
    digest = hashlib.sha256(photo).hexdigest()
    meta = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in
                    (("sha256", digest), ("content_type", "image/jpeg"), ("filename", "notice.jpg")))
    tus = {**h, "Tus-Resumable": "1.0.0"}
    created = rec.call("tus-create", s.post, f"{base}/api/uploads", headers={
        **tus, "Upload-Length": str(len(photo)), "Upload-Metadata": meta})
    if created is None or created.status_code != 201:
        return
    location = requests.compat.urljoin(base, created.headers["Location"])
    rec.call("tus-patch", s.patch, location, data=photo, headers={
        **tus, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
    op = {"op_id": str(uuid.uuid4()), "kind": "attach_photo", "case_id": visit["case_id"],
          "device_time": visit["device_time"], "payload": {"visit_op_id": visit["op_id"], "sha256": digest,
                                                           "size": len(photo), "content_type": "image/jpeg"}}
    rec.call("push", s.post, f"{base}/api/sync/push", headers=h, json={"ops": [op]})
    sent.append(op["op_id"])


def verify(url: str, sent: list[str]) -> dict:
    engine = create_engine(url)
    with engine.connect() as conn:
        applied = conn.scalar(select(func.count()).select_from(AppliedOp).where(AppliedOp.op_id.in_(sent)))
        statuses = dict(conn.execute(select(AppliedOp.status, func.count()).where(AppliedOp.op_id.in_(sent))
                                     .group_by(AppliedOp.status)).all())
        visits = conn.scalar(select(func.count()).select_from(Enquiry).where(Enquiry.op_id.in_(sent)))
    engine.dispose()
    return {"sent": len(sent), "recorded": applied, "statuses": statuses, "visit_rows": visits}


@click.command()
@click.option("--database-url", required=True, help="PostgreSQL URL (a throw-away schema is made in it).")
@click.option("--devices", default=100, show_default=True)
@click.option("--visits", default=10, show_default=True, help="Visits pushed per device.")
@click.option("--workers", default=3, show_default=True, help="gunicorn workers per instance.")
@click.option("--storm", default=0, show_default=True,
              help="Enrol every device first, then time the sync phase alone while this many other officers "
                   "enrol at once beside it (0: each device enrols and syncs in one go, as before).")
def main(database_url: str, devices: int, visits: int, workers: int, storm: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        url = fresh_database(database_url, tmp)
        users = seed_officers(url, devices + storm, cases_each=5)
        users, stormers = users[:devices], users[devices:]
        ports = [free_port(), free_port()]
        procs = [start_instance(url, p, workers, tmp / f"blobs-{p}", tmp / f"gunicorn-{p}.log") for p in ports]
        rec, sent, photo = Recorder(), [], os.urandom(64 * 1024)
        bases = [f"http://127.0.0.1:{ports[i % 2]}" for i in range(len(users) + len(stormers))]
        try:
            tokens = _enrol_first(bases, users, rec) if storm else [None] * len(users)
            start = time.perf_counter()
            threads = [threading.Thread(target=device_run, args=(bases[i], u, p, rec, visits, sent, photo, tokens[i]))
                       for i, (u, p) in enumerate(users)]
            threads += [threading.Thread(target=enrol, args=(bases[len(users) + i], u, p, rec, "storm-enrol"))
                        for i, (u, p) in enumerate(stormers)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(600)
            wall = time.perf_counter() - start
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(30)
        check = verify(url, sent)
        drop_database(url)
        report(rec, wall, check, devices, workers)


def _enrol_first(bases: list[str], users: list[tuple[str, str]], rec: Recorder) -> list[str | None]:
    """Enrol every device before the sync phase, a few at a time (not part of the timed phase)."""
    tokens: list[str | None] = [None] * len(users)

    def one(i: int) -> None:
        tokens[i] = enrol(bases[i], *users[i], rec, "enrol-before")

    for start in range(0, len(users), 4):
        batch = [threading.Thread(target=one, args=(i,)) for i in range(start, min(start + 4, len(users)))]
        for t in batch:
            t.start()
        for t in batch:
            t.join(120)
    return tokens


def free_port() -> int:
    from tests.e2e.live import free_port as fp

    return fp()


def report(rec: Recorder, wall: float, check: dict, devices: int, workers: int) -> None:
    table = Table(title=f"{devices} devices, 2 instances x {workers} gunicorn workers, one PostgreSQL")
    for col in ("request", "count", "p50 ms", "p99 ms"):
        table.add_column(col)
    total = 0
    for name, samples in sorted(rec.latency.items()):
        samples.sort()
        total += len(samples)
        p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
        table.add_row(name, str(len(samples)), f"{statistics.median(samples):.1f}", f"{p99:.1f}")
    console.print(table)
    sync = sorted(x for name in ("pull", "push", "tus-create", "tus-patch") for x in rec.latency.get(name, []))
    if sync:
        console.print(f"sync phase (pull, push, tus): p50 {statistics.median(sync):.1f} ms, "
                      f"p99 {sync[min(len(sync) - 1, int(len(sync) * 0.99))]:.1f} ms")
    console.print(f"requests: {total} in {wall:.1f} s = {total / wall:.1f} req/s; errors: {len(rec.errors)}")
    for err in sorted(set(rec.errors))[:10]:
        console.print(f"  error: {err}")
    ok = check["recorded"] == check["sent"] and check["statuses"].get("applied", 0) == check["sent"]
    console.print(f"ops sent {check['sent']}, recorded {check['recorded']}, statuses {check['statuses']}, "
                  f"visit rows {check['visit_rows']}: {'exactly once' if ok else 'MISMATCH'}")
    if not ok or rec.errors:
        raise SystemExit(1)


if __name__ == "__main__":
    main()

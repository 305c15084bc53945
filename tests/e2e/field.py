"""Drive `cme-field` as its own process (one store per device) and read what it prints."""
from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
PASSPHRASE = "a long store passphrase for tests"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
EXIT_REVOKED, EXIT_OFFLINE = 4, 5


def cli_command() -> list[str]:
    """The installed `cme-field` script next to this interpreter (the venv's), else the same entry point."""
    script = Path(sys.executable).parent / "cme-field"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from field_client.cli import cli; cli()"]


@dataclass
class Device:
    """One officer's device: a store directory that every command runs against."""

    home: Path
    username: str

    def env(self) -> dict[str, str]:
        return {**os.environ, "CME_FIELD_HOME": str(self.home), "CME_FIELD_PASSPHRASE": PASSPHRASE,
                "CME_FIELD_PASSWORD": PASSWORD, "CME_FIELD_KDF_N": "1024", "PYTHONUNBUFFERED": "1"}

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(cli_command() + list(args), cwd=ROOT, env=self.env(), capture_output=True,
                              text=True, timeout=timeout)

    def ok(self, *args: str, timeout: float = 120) -> str:
        """Run a command that must succeed; its stdout."""
        done = self.run(*args, timeout=timeout)
        assert done.returncode == 0, f"cme-field {' '.join(args)} -> {done.returncode}\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def popen(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(cli_command() + list(args), cwd=ROOT, env=self.env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def enrol(self, server_url: str, name: str | None = None) -> int:
        out = self.ok("enrol", "--server", server_url, "--username", self.username,
                      "--device-name", name or f"{self.username} tablet")
        match = re.search(r"Enrolled device (\d+)", out)
        assert match, out
        return int(match.group(1))

    def sync(self) -> str:
        return self.ok("sync")

    def visit(self, case_id: int, outcome: str = "no_answer", *extra: str) -> tuple[str, list[str]]:
        """Record a visit; (visit op id, [attach_photo op ids])."""
        out = self.ok("visit", str(case_id), "--outcome", outcome, *extra)
        visit = re.search(r"Visit recorded: (\S+)", out)
        assert visit, out
        return visit.group(1), re.findall(r"Photo stored \(encrypted\): (\S+)", out)

    def change(self, case_id: int, *options: str) -> str:
        match = re.search(r"Change proposed: (\S+)", self.ok("change", str(case_id), *options))
        assert match
        return match.group(1)

    def outbox(self) -> list[str]:
        """Op ids waiting in the outbox, in order."""
        return UUID.findall(self.ok("outbox"))

    def cases(self) -> list[int]:
        """Case ids held on the device (the first column of `cases`)."""
        return case_ids(self.ok("cases"))

    def record_visits(self, case_id: int, count: int) -> list[str]:
        """Queue `count` visits quickly: one process using the client library (not the CLI under test)."""
        script = ("import os, sys\n"
                  "from field_client.engine import SyncEngine\n"
                  "from field_client.store import Store\n"
                  "with Store.open(os.environ['CME_FIELD_HOME'], os.environ['CME_FIELD_PASSPHRASE']) as store:\n"
                  "    engine = SyncEngine(store, None)\n"
                  "    for i in range(int(sys.argv[2])):\n"
                  "        print(engine.capture.record_visit(int(sys.argv[1]), 'no_answer', notes=f'visit {i}'))\n")
        done = subprocess.run([sys.executable, "-c", script, str(case_id), str(count)], cwd=ROOT, env=self.env(),
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout.split()

    def store_exists(self) -> bool:
        return (self.home / "store.db").exists()


def case_ids(cases_output: str) -> list[int]:
    """The first column of the `cases` table."""
    return [int(m) for m in re.findall(r"^\W*(\d+)\s+\W\s*CME-", cases_output, flags=re.MULTILINE)]


def photo_file(path: Path, size: int) -> tuple[Path, bytes, str]:
    """A 'photo' of random bytes (incompressible, like a JPEG): (path, bytes, sha256 hex)."""
    data = os.urandom(size)
    path.write_bytes(data)
    return path, data, hashlib.sha256(data).hexdigest()


def sync_summary(out: str) -> dict[str, int]:
    """{'applied': 2, 'duplicate': 1, ...} from sync's "Sent N operation(s) (2 applied, 1 duplicate)." line."""
    match = re.search(r"Sent \d+ operation\(s\)(?: \((.*)\))?\.", out)
    assert match, out
    return {status: int(n) for n, status in re.findall(r"(\d+) (\w+)", match.group(1) or "")}


# ---- the server's side, read through the in-process test client (same database) ----------------------
def enquiries(client, supervisor, case_id: int) -> list[dict]:
    resp = client.get(f"/api/cases/{case_id}/enquiries", headers=supervisor.headers)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def with_op(items: list[dict], op_id: str) -> list[dict]:
    return [item for item in items if item.get("op_id") == op_id]


def review_items(client, supervisor, case_id: int) -> list[dict]:
    resp = client.get("/api/review", query_string={"case_id": case_id}, headers=supervisor.headers)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def device_record(client, supervisor, device_id: int) -> dict:
    resp = client.get("/api/devices", headers=supervisor.headers)
    assert resp.status_code == 200, resp.get_json()
    return next(d for d in resp.get_json() if d["id"] == device_id)


def linked_photos(uow, enquiry_id: int) -> list[dict]:
    """Photos linked to an enquiry (no API lists them; the server's own tables do)."""
    from sqlalchemy import select

    from server.adapters.upload_models import Photo

    with uow.transaction() as unit:
        session = unit.session
        rows = session.scalars(select(Photo).where(Photo.enquiry_id == enquiry_id).order_by(Photo.id))
        return [{"id": p.id, "op_id": p.op_id, "sha256": p.sha256, "size": p.size} for p in rows]


def photo_bytes(client, supervisor, photo_id: int) -> bytes:
    resp = client.get(f"/api/photos/{photo_id}", headers=supervisor.headers)
    assert resp.status_code == 200, resp.status_code
    return resp.data

"""Side by side with a CouchDB-style peer: one officer's caseload synced to a device over loopback.

    .venv/bin/python -m bench.peer_compare [--database-url postgresql://postgres@127.0.0.1:5432/test]

Ours: a gunicorn server (bench/gunicorn settings of the repository's gunicorn.conf.py when present) on a register
built in bulk, and the field client in process: its encrypted store, transport and sync engine, exactly as an
officer's `cme-field sync` runs them. The peer: PouchDB 9 replicating with a selector from express-pouchdb 4.2.0
(bench/peer, installed from the npm registry on first use) holding documents shaped like our device snapshot.
Both: the initial sync of a 300-case caseload, a sync with no changes and one after one changed case (medians),
at registers of 1,000 and 100,000 cases. Prints each figure and the ratios (ours / peer, and growth with size).
"""
from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click
import requests
from rich.console import Console
from rich.table import Table

from bench.seed import PASSWORD, bulk_register, drop_database, fresh_database, make_app

ROOT = Path(__file__).resolve().parent.parent
PEER = Path(__file__).resolve().parent / "peer"
PASSPHRASE = "a long benchmark passphrase for the device store"
console = Console(width=170)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            requests.get(url, timeout=10)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer in {timeout} s")


def start_ours(url: str, tmp: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "CME_INSTANCE_PATH": str(tmp / "instance"),
           "CME_BLOB_DIR": str(tmp / "blobs")}
    args = [sys.executable, "-m", "gunicorn", "-b", f"127.0.0.1:{port}", "-w", "2"]
    if (ROOT / "gunicorn.conf.py").exists():
        args += ["-c", str(ROOT / "gunicorn.conf.py")]
    proc = subprocess.Popen([*args, "server.wsgi:app"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    wait_for(f"{base}/api/openapi.json", proc)
    return proc, base


def median_ms(fn, repeat: int, before=None) -> float:
    samples = []
    for i in range(repeat):
        if before:
            before(i)
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def ours(database_url: str | None, size: int, caseload: int, tmp: Path, repeat: int) -> dict:
    from bench.device import Device

    url = fresh_database(database_url, tmp / "db")
    app = make_app(url, tmp)
    bulk_register(app, size, caseload)
    app.extensions["cme"]["engine"].dispose()
    proc, base = start_ours(url, tmp)
    try:
        device = Device(base, tmp / "device", "officer", PASSWORD, PASSPHRASE)
        start = time.perf_counter()
        device.sync()
        initial = (time.perf_counter() - start) * 1000
        held = len(device.cases())
        none = median_ms(device.sync, repeat)
        lead = _signed_in(base, "lead")
        case_id = device.cases()[0]["id"]
        one = median_ms(device.sync, repeat, before=lambda i: _change_case(base, lead, case_id, i))
        device.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        drop_database(url)
    assert held == caseload, (held, caseload)
    return {"initial_ms": initial, "no_change_ms": none, "one_change_ms": one, "held": held}


def _signed_in(base: str, username: str) -> requests.Session:
    session = requests.Session()
    token = session.post(f"{base}/api/auth/login", json={"username": username, "password": PASSWORD},
                         timeout=30).json()["token"]
    session.headers["Authorization"] = f"Bearer {token}"
    return session


def _change_case(base: str, lead: requests.Session, case_id: int, i: int) -> None:
    etag = lead.get(f"{base}/api/cases/{case_id}", timeout=30).headers["ETag"]
    resp = lead.patch(f"{base}/api/cases/{case_id}", json={"contact_phone": f"01632 96{i:04d}"},
                      headers={"If-Match": etag}, timeout=30)
    resp.raise_for_status()


def install_peer() -> None:
    if not (PEER / "node_modules" / "express-pouchdb").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=PEER, check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["node", "fix-selector.js"], cwd=PEER, check=True)


def peer(size: int, caseload: int, tmp: Path, repeat: int) -> dict:
    (tmp / "server").mkdir(parents=True)
    (tmp / "client").mkdir()
    proc = subprocess.Popen(["node", "server.js", "--dir", str(tmp / "server"), "--size", str(size),
                             "--caseload", str(caseload)], cwd=PEER, stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline().split()
        if not line or line[0] != "ready":
            raise RuntimeError("the peer server did not start")
        out = subprocess.run(["node", "client.js", "--url", f"http://127.0.0.1:{line[1]}/cases",
                              "--dir", str(tmp / "client"), "--repeat", str(repeat)],
                             cwd=PEER, check=True, capture_output=True, text=True).stdout
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    result = json.loads(out)
    assert result["held"] == caseload, result
    return result


@click.command()
@click.option("--database-url", default=None, help="PostgreSQL URL; default: temporary SQLite files.")
@click.option("--large", default=100_000, show_default=True, help="Cases in the large register.")
@click.option("--repeat", default=30, show_default=True, help="Syncs per median.")
def main(database_url: str | None, large: int, repeat: int) -> None:
    install_peer()
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in (1_000, large):
            rows[("ours", size)] = ours(database_url, size, 300, Path(tmp) / f"ours{size}", repeat)
            rows[("peer", size)] = peer(size, 300, Path(tmp) / f"peer{size}", repeat)
    print_table(rows, large, "PostgreSQL" if database_url else "SQLite")


def print_table(rows: dict, large: int, db: str) -> None:
    table = Table(title=f"One officer's 300 cases synced over loopback: ours ({db}) beside PouchDB/express-pouchdb")
    for col in ("measure", "ours 1,000", "peer 1,000", f"ours {large:,}", f"peer {large:,}",
                "ours/peer 1,000", f"ours/peer {large:,}", f"ours {large:,}/1,000"):
        table.add_column(col, justify="right")
    for key, label in (("initial_ms", "initial sync"), ("no_change_ms", "sync, no changes"),
                       ("one_change_ms", "sync, one changed case")):
        o1, p1, o2, p2 = (rows[(who, size)][key] for size in (1_000, large) for who in ("ours", "peer"))
        table.add_row(label, f"{o1:.1f} ms", f"{p1:.1f} ms", f"{o2:.1f} ms", f"{p2:.1f} ms",
                      f"{o1 / p1:.2f}", f"{o2 / p2:.2f}", f"{o2 / o1:.2f}")
    console.print(table)
    console.print(f"initial sync, ours at {large:,} / peer at 1,000: "
                  f"{rows[('ours', large)]['initial_ms'] / rows[('peer', 1_000)]['initial_ms']:.2f}")


if __name__ == "__main__":
    main()

"""Attack: a burst of concurrent sign-ins (issue 7 item 4).

- Racing the throttle: 40 wrong passwords at once must not all be evaluated. The attempt is reserved, under a
  per-key lock, before the password is checked, so at most the limit are (per username and per address).
- Exhausting memory: each check runs Argon2id at 64 MiB. At most `HASH_CONCURRENCY` run at once; a sign-in that
  cannot get a slot within `HASH_WAIT_SECONDS` is refused with 503 and Retry-After, and is not counted.
"""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select
from werkzeug.serving import make_server

from server.adapters.access_models import LoginAttempt, User
from server.service import security
from server.service.clock import utcnow
from tests.conftest import PASSWORD
from tests.e2e.live import LiveServer

BURST = 40


class CountingHasher:
    """Wraps the Argon2 hasher: counts verifications and the most that ran at once; `delay` widens races."""

    def __init__(self, real, delay: float = 0.0) -> None:
        self.real, self.delay = real, delay
        self.calls = self.running = self.peak = 0
        self.lock = threading.Lock()

    def verify(self, stored: str, password: str) -> bool:
        with self.lock:
            self.calls += 1
            self.running += 1
            self.peak = max(self.peak, self.running)
        try:
            time.sleep(self.delay)
            return self.real.verify(stored, password)
        finally:
            with self.lock:
                self.running -= 1

    def hash(self, password: str) -> str:
        return self.real.hash(password)


@pytest.fixture
def counting(monkeypatch) -> CountingHasher:
    cheap = security.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    monkeypatch.setattr(security, "_DUMMY_HASH", cheap.hash("dummy"))
    hasher = CountingHasher(security._hasher, delay=0.05)
    monkeypatch.setattr(security, "_hasher", hasher)
    return hasher


@contextmanager
def served(app):
    """The app behind a real threaded HTTP server on loopback: concurrent requests, concurrent transactions."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)


def burst(url: str, bodies: list[dict], headers: list[dict] | None = None) -> list[requests.Response]:
    start = threading.Barrier(len(bodies))

    def one(i: int) -> requests.Response:
        start.wait()
        return requests.post(url + "/api/auth/login", json=bodies[i], timeout=120,
                             headers=(headers or [{}] * len(bodies))[i])

    with ThreadPoolExecutor(len(bodies)) as pool:
        return list(pool.map(one, range(len(bodies))))


def test_concurrent_wrong_passwords_evaluate_at_most_the_per_username_limit(app, accounts, counting, uow):
    with served(app) as url:
        answers = burst(url, [{"username": "officer", "password": f"guess {i}"} for i in range(BURST)])
    codes = sorted(r.status_code for r in answers)
    assert counting.calls <= security.LOGIN_MAX_FAILURES, codes
    assert codes.count(401) == counting.calls and codes.count(429) == BURST - counting.calls
    with uow.transaction() as unit:
        session = unit.session
        assert session.scalar(select(func.count()).select_from(LoginAttempt)) == counting.calls
    assert counting.peak <= security.HASH_CONCURRENCY


def test_concurrent_spraying_from_one_address_evaluates_at_most_the_per_address_limit(app, accounts, counting):
    with served(app) as url:
        answers = burst(url, [{"username": f"nobody.{i}", "password": "Winter2026!"} for i in range(BURST)])
    codes = sorted(r.status_code for r in answers)
    assert counting.calls <= security.LOGIN_MAX_FAILURES_PER_ADDRESS, codes
    assert codes.count(401) == counting.calls and codes.count(429) == BURST - counting.calls
    assert counting.peak <= security.HASH_CONCURRENCY


def test_the_right_password_releases_its_reservation(client, accounts, counting, uow):
    """A reserved attempt counts as a failure until the password proves right; then it is a success."""
    assert client.post("/api/auth/login", json={"username": "officer", "password": PASSWORD}).status_code == 200
    with uow.transaction() as unit:
        session = unit.session
        assert session.scalars(select(LoginAttempt.success)).all() == [True]


def test_a_sign_in_waiting_too_long_for_a_hashing_slot_gets_503_and_is_not_counted(client, accounts, counting,
                                                                                   monkeypatch, uow):
    monkeypatch.setattr(security, "HASH_WAIT_SECONDS", 0.05)
    taken = [security._hashing.acquire(timeout=5) for _ in range(security.HASH_CONCURRENCY)]
    try:
        busy = client.post("/api/auth/login", json={"username": "officer", "password": PASSWORD})
    finally:
        for _ in taken:
            security._hashing.release()
    assert busy.status_code == 503 and busy.content_type == "application/problem+json"
    assert busy.get_json()["type"].endswith("/busy") and int(busy.headers["Retry-After"]) > 0
    assert counting.calls == 0
    with uow.transaction() as unit:
        session = unit.session
        assert session.scalar(select(func.count()).select_from(LoginAttempt)) == 0  # the reservation was dropped
    assert client.post("/api/auth/login", json={"username": "officer", "password": PASSWORD}).status_code == 200


def _rss_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads resident memory from /proc (Linux)")
def test_a_burst_of_sign_ins_keeps_server_memory_bounded(database_url, tmp_path, password_hash, capsys):
    """A real server process with real Argon2id (64 MiB a check): 40 sign-ins at once, each from its own
    forwarded address (so no per-address limit cuts the burst short). Peak resident memory may grow by the
    hashing bound, not by 40 checks' worth (which was ~1 GiB)."""
    live = LiveServer(database_url, tmp_path / "blobs", tmp_path / "server.log")
    live.env["CME_TRUSTED_PROXIES"] = "1"
    live.start()
    try:
        pid = live.proc.pid
        requests.post(live.url + "/api/auth/login", json={"username": "warm", "password": "x"}, timeout=60)
        baseline = _rss_kib(pid, "VmRSS")
        peak = [baseline]
        done = threading.Event()

        def sample() -> None:  # resident memory every few ms while the burst runs
            while not done.is_set():
                peak[0] = max(peak[0], _rss_kib(pid, "VmRSS"))
                time.sleep(0.005)

        sampler = threading.Thread(target=sample)
        sampler.start()
        try:
            answers = burst(live.url, [{"username": f"nobody.{i}", "password": "guess"} for i in range(BURST)],
                            [{"X-Forwarded-For": f"198.51.100.{i}"} for i in range(BURST)])
        finally:
            done.set()
            sampler.join()
    finally:
        live.stop()
    assert {r.status_code for r in answers} <= {401, 503}
    growth_mib = (peak[0] - baseline) / 1024
    with capsys.disabled():
        print(f"\n[memory] {BURST} concurrent sign-ins: resident {baseline / 1024:.0f} MiB -> peak "
              f"{peak[0] / 1024:.0f} MiB (+{growth_mib:.0f} MiB); "
              f"{sum(r.status_code == 503 for r in answers)} answered 503")
    # Each check holds 64 MiB; the bound allows HASH_CONCURRENCY of them plus request and thread overheads.
    assert growth_mib <= security.HASH_CONCURRENCY * 64 + 64


def test_user_creation_hashes_inside_the_same_bound(monkeypatch, app):
    """Hashing a new password takes a slot too (an admin creating accounts during a burst waits its turn)."""
    monkeypatch.setattr(security, "HASH_WAIT_SECONDS", 0.05)
    taken = [security._hashing.acquire(timeout=5) for _ in range(security.HASH_CONCURRENCY)]
    try:
        with pytest.raises(security.Busy):
            security.hash_password("a long enough password")
    finally:
        for _ in taken:
            security._hashing.release()
    assert security.hash_password("a long enough password").startswith("$argon2id$")
    with app.extensions["cme"]["uow"].transaction() as unit:  # the app still works: the slot was released
        unit.session.add(User(username="after.busy", display_name="x", role="officer", active=True,
                         password_hash=security.hash_password("another password"), created_at=utcnow()))

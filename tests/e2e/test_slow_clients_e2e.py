"""Poor signal, as gunicorn with the shipped gunicorn.conf.py meets it: sockets trickling request bodies do not
starve everyone else, and a photo chunk arriving at 2G speed (~6 KiB/s) for longer than the worker timeout still
lands. The contrast run shows the same trickle stopping gunicorn's default sync workers.

Times are scaled down to keep the suite quick: a 4 s worker timeout, and a 36 KiB chunk sent over 6 s.
"""
from __future__ import annotations

import base64
import hashlib
import os
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import requests

from tests.conftest import PASSWORD

from .live import GunicornServer

pytestmark = pytest.mark.e2e

PROTOCOL = {"CME-Sync-Protocol": "1"}
WORKER_TIMEOUT = 4
TRICKLERS = 6  # more than the workers: with sync workers, two would already stop the server
RATE = 6 * 1024  # bytes per second, a 2G link


class Trickler:
    """A client on a bad link: sends the headers of a POST, then its body one byte at a time, for as long as
    the test runs (the body never completes)."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.sendall(b"POST /api/devices/enrol HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                          b"CME-Sync-Protocol: 1\r\nContent-Length: 100000\r\n\r\n{")
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._drip, daemon=True)
        self.thread.start()

    def _drip(self) -> None:
        while not self.stopped.wait(0.5):
            try:
                self.sock.sendall(b" ")
            except OSError:
                return

    def close(self) -> None:
        self.stopped.set()
        self.thread.join(2)
        self.sock.close()


def _serve(database_url, tmp_path, name: str, *overrides: str) -> GunicornServer:
    server = GunicornServer(database_url, tmp_path / "blobs", tmp_path / f"{name}.log", "--workers", "2",
                            *overrides)
    server.start()
    return server


@pytest.fixture
def gunicorn_server(database_url, accounts, tmp_path) -> Iterator[GunicornServer]:
    server = _serve(database_url, tmp_path, "gunicorn", "--timeout", str(WORKER_TIMEOUT))
    yield server
    server.stop()


@pytest.fixture
def tricklers(gunicorn_server) -> Iterator[list[Trickler]]:
    opened = [Trickler(gunicorn_server.port) for _ in range(TRICKLERS)]
    time.sleep(0.5)  # let each reach the server and take its thread
    yield opened
    for trickler in opened:
        trickler.close()


def _device_token(url: str) -> str:
    answer = requests.post(url + "/api/devices/enrol", headers=PROTOCOL, timeout=30,
                           json={"username": "officer", "password": PASSWORD, "device_name": "slow tablet"})
    assert answer.status_code == 201, answer.text
    return answer.json()["device_token"]


def _create_upload(url: str, headers: dict[str, str], data: bytes) -> str:
    meta = {"sha256": hashlib.sha256(data).hexdigest(), "content_type": "image/jpeg", "filename": "slow.jpg"}
    answer = requests.post(url + "/api/uploads", timeout=30, headers={
        **headers, "Upload-Length": str(len(data)),
        "Upload-Metadata": ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in meta.items())})
    assert answer.status_code == 201, answer.text
    return answer.headers["Location"]


def _slow_patch(port: int, path: str, headers: dict[str, str], data: bytes) -> tuple[bytes, float]:
    """PATCH `data` at RATE bytes per second; the status line of the answer and how long the sending took."""
    head = "".join(f"{k}: {v}\r\n" for k, v in {
        **headers, "Host": "127.0.0.1", "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream",
        "Content-Length": str(len(data)),
        "Upload-Checksum": "sha256 " + base64.b64encode(hashlib.sha256(data).digest()).decode()}.items())
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(f"PATCH {path} HTTP/1.1\r\n{head}\r\n".encode())
        piece = RATE // 10
        for at in range(0, len(data), piece):
            sock.sendall(data[at:at + piece])
            time.sleep(0.1)
        took = time.monotonic() - started
        return sock.recv(4096).split(b"\r\n", 1)[0], took


def _ordinary_request_seconds(url: str, timeout: float) -> float:
    started = time.monotonic()
    answer = requests.get(url + "/api/openapi.json", timeout=timeout)
    assert answer.status_code == 200
    return time.monotonic() - started


def test_trickling_clients_do_not_starve_and_a_2g_chunk_outlasts_the_worker_timeout(gunicorn_server, tricklers):
    url = gunicorn_server.url
    headers = {**PROTOCOL, "Tus-Resumable": "1.0.0", "Authorization": f"Bearer {_device_token(url)}"}
    data = os.urandom(36 * 1024)  # 6 s at 2G speed, beyond the 4 s worker timeout
    location = _create_upload(url, headers, data)
    result: dict[str, object] = {}
    upload = threading.Thread(target=lambda: result.update(
        answer=_slow_patch(gunicorn_server.port, location, headers, data)))
    upload.start()
    # While six bodies trickle and the photo chunk crawls in, everyone else is still served at once.
    for _ in range(3):
        assert _ordinary_request_seconds(url, timeout=5) < 2
        time.sleep(1)
    upload.join(30)
    status_line, took = result["answer"]
    assert took > WORKER_TIMEOUT
    assert status_line.startswith(b"HTTP/1.1 204")
    head = requests.head(url + location, headers=headers, timeout=10)
    assert head.headers["Upload-Offset"] == str(len(data))


def test_the_same_trickle_stops_sync_workers(database_url, accounts, tmp_path):
    """Why the shipped config is gthread: with gunicorn's default workers one trickling socket per worker
    stops the server (one worker here, to keep the test short)."""
    server = _serve(database_url, tmp_path, "sync-workers", "--workers", "1", "--worker-class", "sync",
                    "--threads", "1", "--timeout", "30")
    opened = [Trickler(server.port)]
    try:
        time.sleep(0.5)
        with pytest.raises(requests.Timeout):
            _ordinary_request_seconds(server.url, timeout=2)
    finally:
        for trickler in opened:
            trickler.close()
        server.stop()

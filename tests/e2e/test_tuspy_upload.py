"""A real HTTP server on loopback and the stock tus client (tuspy): photos upload, resume and land by SHA-256."""
from __future__ import annotations

import hashlib
import http.client
import os
import socket
import threading
import time
from pathlib import Path

import pytest
from tusclient import client as tus_client
from tusclient.uploader import Uploader
from werkzeug.serving import make_server

pytestmark = pytest.mark.e2e


class Sha256Uploader(Uploader):
    """tuspy sends sha1 chunk checksums by default; the server speaks sha256."""

    CHECKSUM_ALGORITHM_PAIR = ("sha256", hashlib.sha256)


@pytest.fixture
def base_url(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def photo(tmp_path: Path) -> tuple[Path, bytes, str]:
    data = os.urandom(400_000)
    path = tmp_path / "notice.jpg"
    path.write_bytes(data)
    return path, data, hashlib.sha256(data).hexdigest()


def tus(base_url: str, account) -> tus_client.TusClient:
    return tus_client.TusClient(base_url + "/api/uploads", headers={**account.headers, "CME-Sync-Protocol": "1"})


def meta(sha256: str) -> dict[str, str]:
    return {"sha256": sha256, "content_type": "image/jpeg", "filename": "notice.jpg"}


def stored(app, sha256: str) -> bytes:
    return (Path(app.config["BLOB_DIR"]) / sha256[:2] / sha256[2:4] / sha256).read_bytes()


def test_tuspy_uploads_a_file_in_chunks(app, base_url, accounts, photo):
    path, data, sha = photo
    uploader = tus(base_url, accounts["officer"]).uploader(file_path=str(path), chunk_size=64 * 1024,
                                                           metadata=meta(sha))
    uploader.upload()
    assert uploader.offset == len(data)
    assert stored(app, sha) == data


def test_tuspy_resumes_with_sha256_chunk_checksums(app, base_url, accounts, photo):
    path, data, sha = photo
    client = tus(base_url, accounts["officer"])
    first = Sha256Uploader(file_path=str(path), client=client, chunk_size=50_000, metadata=meta(sha),
                           upload_checksum=True)
    first.upload(stop_at=200_000)
    # A new uploader (as after an app restart) asks the server for the offset with HEAD, then goes on.
    again = Sha256Uploader(file_path=str(path), client=client, url=first.url, chunk_size=50_000,
                           metadata=meta(sha), upload_checksum=True)
    assert again.offset == 200_000
    again.upload()
    assert stored(app, sha) == data


def test_bytes_before_a_dropped_connection_are_kept(app, base_url, accounts, photo):
    """tus core: the server keeps as much as it received; the client resumes from the offset HEAD reports."""
    path, data, sha = photo
    client = tus(base_url, accounts["officer"])
    uploader = client.uploader(file_path=str(path), chunk_size=100_000, metadata=meta(sha))
    uploader.upload(stop_at=100_000)
    host, port = base_url.removeprefix("http://").split(":")
    send_then_drop(host, int(port), uploader.url, accounts["officer"], offset=100_000,
                   announced=100_000, sent=data[100_000:130_000])
    resumed = wait_for_offset(lambda: client.uploader(file_path=str(path), url=uploader.url,
                                                      chunk_size=100_000), 130_000)
    resumed.upload()
    assert stored(app, sha) == data


def send_then_drop(host: str, port: int, url: str, account, *, offset: int, announced: int, sent: bytes) -> None:
    path = url.split(f"{host}:{port}", 1)[1]
    head = (f"PATCH {path} HTTP/1.1\r\nHost: {host}:{port}\r\nTus-Resumable: 1.0.0\r\nCME-Sync-Protocol: 1\r\n"
            f"Authorization: Bearer {account.token}\r\nContent-Type: application/offset+octet-stream\r\n"
            f"Upload-Offset: {offset}\r\nContent-Length: {announced}\r\n\r\n")
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(head.encode() + sent)
        sock.shutdown(socket.SHUT_WR)  # the phone lost signal mid-chunk


def wait_for_offset(make_uploader, expected: int, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while True:
        uploader = make_uploader()
        if uploader.offset == expected or time.monotonic() > deadline:
            assert uploader.offset == expected
            return uploader
        time.sleep(0.05)


def test_options_over_http(base_url):
    conn = http.client.HTTPConnection(base_url.removeprefix("http://"), timeout=10)
    conn.request("OPTIONS", "/api/uploads")
    resp = conn.getresponse()
    assert resp.status == 204 and resp.getheader("Tus-Version") == "1.0.0"
    conn.close()

"""A server (or something in the path) answering 307 must not make the device re-send its data elsewhere.

Two real loopback HTTP servers: the "server" answers every request with a 307 to the "elsewhere" port, which
records anything that reaches it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from field_client.transport import Transport, TransportError


class Loopback:
    def __init__(self, status: int, location: str | None = None, head_offset: int | None = None) -> None:
        self.hits: list[tuple[str, str, bytes]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # quiet
                return None

            def _any(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                owner.hits.append((self.command, self.path, body))
                if self.command == "HEAD" and head_offset is not None:  # a resumable upload, as tus answers
                    self.send_response(200)
                    self.send_header("Upload-Offset", str(head_offset))
                    self.send_header("Upload-Length", "4")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(status)
                if location:
                    self.send_header("Location", location + self.path)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = do_PATCH = do_HEAD = do_PUT = _any

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def redirecting() -> Iterator[tuple[Loopback, Loopback]]:
    elsewhere = Loopback(200)
    server = Loopback(307, location=elsewhere.url)
    yield server, elsewhere
    server.close()
    elsewhere.close()


def _transport(url: str) -> Transport:
    return Transport(url, "tok-device", sleep=lambda _: None, attempts=3)


def test_307_on_push_is_an_error_and_nothing_reaches_the_other_port(redirecting):
    server, elsewhere = redirecting
    with pytest.raises(TransportError) as caught:
        _transport(server.url).push([{"op_id": "x", "notes": "the family has moved to ..."}])
    assert not caught.value.retryable and caught.value.status == 307
    assert "redirecting to 127.0.0.1" in str(caught.value)
    assert [hit[0] for hit in server.hits] == ["POST"]  # asked once, not retried
    assert elsewhere.hits == []


def test_307_on_enrol_does_not_send_the_password_elsewhere(redirecting):
    server, elsewhere = redirecting
    with pytest.raises(TransportError):
        Transport(server.url).enrol("ao1", "correct horse", "tablet")
    assert elsewhere.hits == []


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_every_redirect_status_on_a_tus_upload_is_refused(status):
    elsewhere = Loopback(200)
    server = Loopback(status, location=elsewhere.url)
    try:
        with pytest.raises(TransportError) as caught:
            _transport(server.url).upload_photo(None, 4, "0" * 64, "image/jpeg", lambda offset: [b"data"])
        assert caught.value.status == status
        assert elsewhere.hits == []
    finally:
        server.close()
        elsewhere.close()


def test_307_on_a_tus_patch_sends_no_bytes_elsewhere():
    elsewhere = Loopback(200)
    server = Loopback(307, location=elsewhere.url, head_offset=0)
    try:
        with pytest.raises(TransportError) as caught:
            _transport(server.url).upload_photo(server.url + "/api/uploads/u1", 4, "0" * 64, "image/jpeg",
                                                lambda offset: [b"data"])
        assert caught.value.status == 307 and not caught.value.retryable
        assert [hit[0] for hit in server.hits] == ["HEAD", "PATCH"]
        assert elsewhere.hits == []
    finally:
        server.close()
        elsewhere.close()

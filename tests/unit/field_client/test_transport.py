"""HTTP transport: headers on every request, problem types mapped to sync.errors, retries, and tus upload."""

from __future__ import annotations

import base64
import hashlib
import json
import random
from typing import Any

import pytest
import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from field_client.transport import Transport, TransportError, check_base_url
from sync.errors import (
    CursorInvalid, DeviceRetired, DeviceRevoked, OpInvalid, ResyncRequired, UnsupportedProtocol, problem_type,
)
from tests.unit.field_client.fake_sync_server import BASE, PASSWORD, TOKEN, USERNAME, FakeServer

Answer = tuple[int, dict[str, str], bytes] | Exception


class Scripted(BaseAdapter):
    """Answers requests from a script, recording what was sent."""

    def __init__(self, answers: list[Answer]) -> None:
        super().__init__()
        self.answers, self.sent = list(answers), []

    def send(self, request: requests.PreparedRequest, **_: Any) -> requests.Response:
        self.sent.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        status, headers, body = answer
        response = requests.Response()
        response.status_code, response.headers, response._content = status, CaseInsensitiveDict(headers), body
        response.url, response.request = request.url, request
        return response

    def close(self) -> None:
        pass


def problem(status: int, code: str, detail: str = "because") -> Answer:
    body = json.dumps({"type": problem_type(code), "title": code, "status": status, "detail": detail}).encode()
    return status, {"Content-Type": "application/problem+json"}, body


def ok(body: Any, status: int = 200) -> Answer:
    return status, {"Content-Type": "application/json"}, json.dumps(body).encode()


def scripted(*answers: Answer, attempts: int = 4) -> tuple[Transport, Scripted, list[float]]:
    adapter, sleeps = Scripted(list(answers)), []
    session = requests.Session()
    session.mount(BASE, adapter)
    transport = Transport(BASE, TOKEN, session=session, sleep=sleeps.append, attempts=attempts,
                          rng=random.Random(1))
    return transport, adapter, sleeps


def test_every_request_names_the_protocol_and_the_token():
    transport, adapter, _ = scripted(ok({"match": True, "server_count": 0, "resync": False}),
                                     ok({"results": [], "server_time": "2025-06-01T00:00:00Z"}), (204, {}, b""))
    transport.check("0" * 64, 0)
    transport.push([{"op_id": "x"}])
    transport.goodbye()
    for request in adapter.sent:
        assert request.headers["CME-Sync-Protocol"] == "1"
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert [r.path_url for r in adapter.sent] == ["/api/sync/check", "/api/sync/push", "/api/sync/goodbye"]
    assert json.loads(adapter.sent[1].body) == {"ops": [{"op_id": "x"}]}


def test_pull_sends_cursor_and_limit():
    transport, adapter, _ = scripted(ok({"cases": []}), ok({"cases": []}))
    transport.pull(None, 50)
    transport.pull("v1.abc.def", 10)
    assert adapter.sent[0].path_url == "/api/sync/pull?limit=50"
    assert adapter.sent[1].path_url == "/api/sync/pull?limit=10&cursor=v1.abc.def"


@pytest.mark.parametrize("status, code, cls", [
    (403, "device-revoked", DeviceRevoked), (403, "device-retired", DeviceRetired),
    (400, "unsupported-protocol", UnsupportedProtocol), (400, "cursor-invalid", CursorInvalid),
    (409, "resync-required", ResyncRequired), (422, "op-invalid", OpInvalid),
])
def test_problem_types_map_to_sync_errors(status, code, cls):
    transport, _, sleeps = scripted(problem(status, code, "the detail"))
    with pytest.raises(cls) as caught:
        transport.pull(None, 10)
    assert "the detail" in str(caught.value) and sleeps == []


@pytest.mark.parametrize("answer, retryable, status", [
    ((404, {"Content-Type": "text/html"}, b"<h1>nope</h1>"), False, 404),
    (problem(401, "unauthenticated"), False, 401),
    (problem(422, "invalid-input"), False, 422),
])
def test_other_failures_are_transport_errors(answer, retryable, status):
    transport, _, _ = scripted(answer)
    with pytest.raises(TransportError) as caught:
        transport.check("0" * 64, 0)
    assert (caught.value.retryable, caught.value.status) == (retryable, status)


def test_retryable_failures_back_off_with_jitter_then_give_up():
    transport, adapter, sleeps = scripted(requests.ConnectionError("refused"), requests.Timeout("slow"),
                                          problem(503, "unavailable"), problem(502, "bad-gateway"))
    with pytest.raises(TransportError) as caught:
        transport.push([])
    assert caught.value.retryable and caught.value.status == 502
    assert len(adapter.sent) == 4 and len(sleeps) == 3
    assert [s <= cap for s, cap in zip(sleeps, (0.5, 1.0, 2.0))] == [True] * 3


def test_retry_after_is_honoured():
    transport, _, sleeps = scripted((429, {"Retry-After": "7"}, b""), ok({"match": True}))
    transport.check("0" * 64, 0)
    assert sleeps == [7.0]


def test_enrol_is_not_retried_and_needs_the_token_in_the_answer():
    transport, adapter, _ = scripted(problem(503, "unavailable"))
    with pytest.raises(TransportError):
        transport.enrol("u", "p", "d")
    assert len(adapter.sent) == 1
    transport, _, _ = scripted(ok({"device_id": 1}, 201))
    with pytest.raises(TransportError, match="device_token"):
        transport.enrol("u", "p", "d")


def test_enrol_against_the_fake_server():
    server = FakeServer()
    transport = Transport(BASE, session=server.session())
    answer = transport.enrol(USERNAME, PASSWORD, "tablet")
    assert answer["device_token"] == TOKEN and answer["offline_ttl_seconds"] == 3600


def test_a_body_that_is_not_json_is_not_retried():
    transport, adapter, _ = scripted((200, {"Content-Type": "application/json"}, b"<html>"))
    with pytest.raises(TransportError, match="not JSON"):
        transport.check("0" * 64, 0)
    assert len(adapter.sent) == 1


@pytest.mark.parametrize("url, allowed", [
    ("https://cme.example.gov.uk", True), ("http://127.0.0.1:5000/", True), ("http://localhost:8000", True),
    ("http://cme.example.gov.uk", False), ("ftp://x", False), ("cme.example", False),
])
def test_base_url_must_keep_the_token_safe(url, allowed):
    if allowed:
        assert check_base_url(url) == url.rstrip("/")
    else:
        with pytest.raises(ValueError):
            check_base_url(url)


# ---- tus -------------------------------------------------------------------------------------------------------
DATA = bytes(range(256)) * 10
SHA = hashlib.sha256(DATA).hexdigest()


def pieces(size: int):
    return lambda offset: (DATA[at:at + size] for at in range(offset, len(DATA), size))


def test_upload_creates_then_patches_with_checksums_and_reports_progress():
    transport, adapter, _ = scripted(
        (201, {"Location": "/api/uploads/u1"}, b""),
        (204, {"Upload-Offset": "1000"}, b""), (204, {"Upload-Offset": "2000"}, b""),
        (204, {"Upload-Offset": "2560"}, b""))
    progress: list[tuple[str, int]] = []
    url = transport.upload_photo(None, len(DATA), SHA, "image/png", pieces(1000),
                                 on_progress=lambda u, o: progress.append((u, o)), filename="p.png")
    assert url == f"{BASE}/api/uploads/u1"
    assert progress == [(url, 0), (url, 1000), (url, 2000), (url, 2560)]
    create, first = adapter.sent[0], adapter.sent[1]
    meta = dict(pair.split(" ") for pair in create.headers["Upload-Metadata"].split(","))
    assert {k: base64.b64decode(v).decode() for k, v in meta.items()} == {
        "sha256": SHA, "content_type": "image/png", "filename": "p.png"}
    assert create.headers["Upload-Length"] == "2560" and create.headers["Tus-Resumable"] == "1.0.0"
    assert first.method == "PATCH" and first.headers["Upload-Offset"] == "0"
    assert first.headers["Content-Type"] == "application/offset+octet-stream"
    assert first.headers["Upload-Checksum"] == "sha256 " + base64.b64encode(
        hashlib.sha256(DATA[:1000]).digest()).decode()
    assert all(r.headers["Authorization"] == f"Bearer {TOKEN}" for r in adapter.sent)


def test_upload_resumes_from_the_servers_offset():
    transport, adapter, _ = scripted((200, {"Upload-Offset": "1500", "Upload-Length": "2560"}, b""),
                                     (204, {"Upload-Offset": "2560"}, b""))
    transport.upload_photo(f"{BASE}/api/uploads/u1", len(DATA), SHA, "image/png", pieces(2000))
    assert adapter.sent[0].method == "HEAD"
    assert adapter.sent[1].headers["Upload-Offset"] == "1500" and adapter.sent[1].body == DATA[1500:]


def test_offset_conflict_asks_again_and_continues():
    transport, adapter, _ = scripted((200, {"Upload-Offset": "0"}, b""), (409, {}, b""),
                                     (200, {"Upload-Offset": "1000"}, b""), (204, {"Upload-Offset": "2560"}, b""))
    transport.upload_photo(f"{BASE}/api/uploads/u1", len(DATA), SHA, "image/png", pieces(5000))
    assert [r.method for r in adapter.sent] == ["HEAD", "PATCH", "HEAD", "PATCH"]
    assert adapter.sent[3].body == DATA[1000:]


def test_upload_location_on_another_origin_is_refused():
    transport, _, _ = scripted((201, {"Location": "https://evil.example/api/uploads/1"}, b""))
    with pytest.raises(TransportError, match="another origin") as caught:
        transport.upload_photo(None, len(DATA), SHA, "image/png", pieces(1000))
    assert not caught.value.retryable


def test_patch_network_failure_is_retryable_and_not_retried_blindly():
    transport, adapter, sleeps = scripted((201, {"Location": "/api/uploads/u1"}, b""),
                                          requests.ConnectionError("reset"))
    with pytest.raises(TransportError) as caught:
        transport.upload_photo(None, len(DATA), SHA, "image/png", pieces(1000))
    assert caught.value.retryable and len(adapter.sent) == 2 and sleeps == []


def test_upload_that_expired_mid_way_is_retryable_and_started_again_on_the_next_call():
    gone = problem(410, "upload-expired")
    transport, adapter, _ = scripted((200, {"Upload-Offset": "1000", "Upload-Length": "2560"}, b""), gone,
                                     gone, (201, {"Location": "/api/uploads/u2"}, b""),
                                     (204, {"Upload-Offset": "2560"}, b""))
    with pytest.raises(TransportError) as caught:
        transport.upload_photo(f"{BASE}/api/uploads/u1", len(DATA), SHA, "image/png", pieces(5000))
    assert caught.value.retryable and caught.value.status == 410
    url = transport.upload_photo(f"{BASE}/api/uploads/u1", len(DATA), SHA, "image/png", pieces(5000))
    assert url == f"{BASE}/api/uploads/u2"
    assert [r.method for r in adapter.sent] == ["HEAD", "PATCH", "HEAD", "POST", "PATCH"]
    assert adapter.sent[-1].body == DATA

"""HTTP to the sync server (sync/PROTOCOL.md): one `requests.Session`, protocol and bearer headers on every call.

Failures become exceptions a caller can act on:
- a problem+json body whose `type` is one of `sync.errors` -> that class (DeviceRevoked, DeviceRetired, ...);
- anything else (other statuses, unreadable bodies, network errors) -> `TransportError(retryable, status)`;
- a redirect (3xx) is never followed, on any call: it is a non-retryable `TransportError`.
Connection failures and timeouts are retryable, and so are the statuses `sync.backoff.is_retryable_status` names.
Idempotent calls (pull, push, check, goodbye, tus HEAD/POST) are retried with full-jitter backoff up to a bound;
enrol and renew are not (a lost answer would enrol the device twice). tus PATCHes are never retried blindly: the offset
must be asked for again (HEAD), which `upload_photo` does on its next call; see `field_client.photos`.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import random
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from field_client.http_errors import TransportError, error_for, redirect_error
from field_client.sync_transport import ChunkSource, ProgressSink
from sync.backoff import backoff_delays
from sync.vocabulary import PROTOCOL_HEADER, PROTOCOL_VERSION

__all__ = ["Transport", "TransportError", "check_base_url", "error_for"]

TUS_VERSION = "1.0.0"
DEFAULT_TIMEOUT = (10.0, 60.0)  # (connect, read) seconds
_MAX_STALLS = 3


def check_base_url(base_url: str, allow_insecure: bool = False) -> str:
    """The server URL without a trailing slash; plain http only to loopback unless `allow_insecure`."""
    parts = urlsplit(base_url or "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"server URL {base_url!r} must be http(s)://host[:port]")
    if parts.scheme == "http" and not allow_insecure and not _is_loopback(parts.hostname):
        raise ValueError("refusing plain http to a non-local server: the device token would travel in clear")
    return base_url.rstrip("/")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Transport:
    """The device's HTTP client (a `SyncTransport`). `sleep` and `rng` are injectable so tests run without waiting."""

    def __init__(self, base_url: str, token: str | None = None, timeout: Any = DEFAULT_TIMEOUT, *,
                 session: requests.Session | None = None, sleep: Callable[[float], None] = time.sleep,
                 attempts: int = 4, backoff_base: float = 0.5, backoff_cap: float = 30.0,
                 rng: random.Random | None = None, allow_insecure: bool = False) -> None:
        self.base_url = check_base_url(base_url, allow_insecure)
        self.token = token
        self.timeout = timeout
        self.session = session or requests.Session()
        self.sleep = sleep
        self.attempts = max(1, attempts)
        self._backoff = (backoff_base, backoff_cap)
        self._rng = rng

    # ---- plumbing --------------------------------------------------------------------------------
    def _url(self, path_or_url: str) -> str:
        url = urljoin(self.base_url + "/", path_or_url)
        here, there = urlsplit(self.base_url), urlsplit(url)
        if (here.scheme, here.netloc) != (there.scheme, there.netloc):
            raise TransportError(f"refusing to send the device token to another origin ({there.netloc})",
                                 retryable=False)
        return url

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {PROTOCOL_HEADER: str(PROTOCOL_VERSION), "Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        headers.update(extra or {})
        return headers

    def request(self, method: str, path: str, *, ok: Iterable[int] = (200, 201, 204),
                headers: dict[str, str] | None = None, **kwargs: Any) -> requests.Response:
        """One attempt; raise the mapped error unless the status is in `ok`."""
        url = self._url(path)
        # Never follow redirects: a 307 would re-send case notes, photos or the password to wherever it points.
        kwargs["allow_redirects"] = False
        try:
            response = self.session.request(method, url, headers=self._headers(headers), timeout=self.timeout,
                                            **kwargs)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise TransportError(f"cannot reach the server: {type(exc).__name__}", retryable=True) from None
        except requests.RequestException as exc:
            raise TransportError(f"request failed: {type(exc).__name__}", retryable=False) from None
        if 300 <= response.status_code < 400:
            raise redirect_error(response)
        if response.status_code not in tuple(ok):
            raise error_for(response, with_token=bool(self.token))
        return response

    def request_with_retry(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """`request`, retried on retryable failures with full-jitter backoff, at most `attempts` tries."""
        delays = backoff_delays(*self._backoff, attempts=self.attempts - 1, rng=self._rng)
        for delay in delays:
            try:
                return self.request(method, path, **kwargs)
            except TransportError as exc:
                if not exc.retryable:
                    raise
                self.sleep(max(delay, exc.retry_after or 0.0))
        return self.request(method, path, **kwargs)

    @staticmethod
    def _json(response: requests.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            raise TransportError("server sent a body that is not JSON", retryable=False,
                                 status=response.status_code) from None
        if not isinstance(body, dict):
            raise TransportError("server sent JSON that is not an object", retryable=False,
                                 status=response.status_code)
        return body

    # ---- protocol calls --------------------------------------------------------------------------
    def enrol(self, username: str, password: str, device_name: str) -> dict[str, Any]:
        body = {"username": username, "password": password, "device_name": device_name}
        data = self._json(self.request("POST", "/api/devices/enrol", json=body, ok=(200, 201)))
        missing = [k for k in ("device_id", "device_token", "offline_ttl_seconds") if k not in data]
        if missing:
            raise TransportError(f"enrolment answer lacks {', '.join(missing)}", retryable=False)
        return data

    def renew(self, device_id: int, username: str, password: str) -> dict[str, Any]:
        """Sign the same device in again (its token expired): a new token, same device, outbox kept.
        Not retried, like enrol: each answer revokes the tokens issued before it."""
        body = {"username": username, "password": password}
        data = self._json(self.request("POST", f"/api/devices/{int(device_id)}/renew", json=body, ok=(200,)))
        missing = [k for k in ("device_id", "device_token", "offline_ttl_seconds") if k not in data]
        if missing:
            raise TransportError(f"sign-in answer lacks {', '.join(missing)}", retryable=False)
        return data

    def pull(self, cursor: str | None, limit: int, digest: str | None = None,
             count: int | None = None) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        if digest is not None and count is not None:  # the consistency check, answered in the page
            params["digest"], params["count"] = digest, count
        return self._json(self.request_with_retry("GET", "/api/sync/pull", params=params, ok=(200,)))

    def push(self, ops: list[dict[str, Any]]) -> dict[str, Any]:
        return self._json(self.request_with_retry("POST", "/api/sync/push", json={"ops": ops}, ok=(200,)))

    def check(self, digest: str, count: int) -> dict[str, Any]:
        body = {"digest": digest, "count": count}
        return self._json(self.request_with_retry("POST", "/api/sync/check", json=body, ok=(200,)))

    def goodbye(self) -> None:
        self.request_with_retry("POST", "/api/sync/goodbye", ok=(200, 204))

    # ---- tus 1.0 photo upload --------------------------------------------------------------------
    def upload_photo(self, upload_url: str | None, size: int, sha256: str, content_type: str,
                     chunks_from: ChunkSource, on_progress: ProgressSink | None = None,
                     filename: str | None = None) -> str:
        """Send a photo (creating the upload, or resuming `upload_url` from the server's offset); return its URL.

        `chunks_from(offset)` yields the file's bytes from `offset`, one PATCH per piece. `on_progress(url,
        offset)` is called after creation and after every accepted PATCH so the caller can persist it; a
        failed PATCH raises (retryable for network errors) and the next call resumes from the server's offset.
        """
        progress = on_progress or (lambda url, offset: None)
        url, offset = self._tus_start(upload_url, size, sha256, content_type, filename or "photo")
        progress(url, offset)
        stalls = 0
        while offset < size:
            reached = self._tus_send(url, offset, size, chunks_from, progress)
            stalls = stalls + 1 if reached <= offset else 0
            if stalls >= _MAX_STALLS:
                raise TransportError("photo upload makes no progress", retryable=True)
            offset = reached
        return url

    def _tus_start(self, url: str | None, size: int, sha256: str, content_type: str,
                   filename: str) -> tuple[str, int]:
        if url:
            offset = self._tus_offset(url, size)
            if offset is not None:
                return url, offset
        return self._tus_create(size, sha256, content_type, filename)

    def _tus_offset(self, url: str, size: int) -> int | None:
        """The server's offset for an upload; None when it expired, vanished or is for another length."""
        try:
            response = self.request_with_retry("HEAD", url, ok=(200, 204),
                                               headers={"Tus-Resumable": TUS_VERSION})
        except TransportError as exc:
            if exc.status in (404, 410):
                return None
            raise
        length = response.headers.get("Upload-Length")
        if length is not None and length.isdigit() and int(length) != size:
            return None
        return _header_int(response, "Upload-Offset")

    def _tus_create(self, size: int, sha256: str, content_type: str, filename: str) -> tuple[str, int]:
        metadata = ",".join(f"{key} {base64.b64encode(value.encode()).decode('ascii')}"
                            for key, value in (("sha256", sha256), ("content_type", content_type),
                                               ("filename", filename)))
        headers = {"Tus-Resumable": TUS_VERSION, "Upload-Length": str(size), "Upload-Metadata": metadata}
        response = self.request_with_retry("POST", "/api/uploads", ok=(200, 201), headers=headers)
        location = response.headers.get("Location")
        if not location:
            raise TransportError("upload created without a Location", retryable=False, status=201)
        url = self._url(location)
        offset = response.headers.get("Upload-Offset", "0")
        return url, int(offset) if offset.isdigit() else 0

    def _tus_send(self, url: str, offset: int, size: int, chunks_from: ChunkSource,
                  progress: ProgressSink) -> int:
        """PATCH pieces from `offset`; return the offset reached (a fresh HEAD after a 409/460 disagreement)."""
        for piece in _nonempty(chunks_from(offset)):
            headers = {"Tus-Resumable": TUS_VERSION, "Upload-Offset": str(offset),
                       "Content-Type": "application/offset+octet-stream",
                       "Upload-Checksum": "sha256 " + base64.b64encode(hashlib.sha256(piece).digest()).decode()}
            try:
                response = self.request("PATCH", url, data=piece, headers=headers, ok=(200, 204))
            except TransportError as exc:
                if exc.status in (404, 410):  # expired: the next call's HEAD says so and creates anew
                    raise TransportError("the upload expired on the server", retryable=True,
                                         status=exc.status) from None
                if exc.status not in (409, 460):
                    raise
                # Offset disagreement or checksum mismatch: ask where the server is and resend from there.
                server_offset = self._tus_offset(url, size)
                if server_offset is None:
                    raise TransportError("the upload expired on the server", retryable=True, status=exc.status)
                return server_offset
            reached = _header_int(response, "Upload-Offset")
            progress(url, reached)
            if reached != offset + len(piece):
                return reached
            offset = reached
        return offset


def _nonempty(pieces: Iterable[bytes]) -> Iterator[bytes]:
    return (piece for piece in pieces if piece)


def _header_int(response: requests.Response, name: str) -> int:
    value = response.headers.get(name, "")
    if not value.isdigit():
        raise TransportError(f"server answer lacks a valid {name}", retryable=False, status=response.status_code)
    return int(value)

"""What a failed request to the sync server becomes (see `field_client.transport`).

- a problem+json body whose `type` is one of `sync.errors` -> that class (DeviceRevoked, DeviceRetired, ...);
- a redirect (3xx) -> a non-retryable `TransportError`: redirects are never followed;
- anything else -> `TransportError(retryable, status)`, retryable for the statuses `sync.backoff` names.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import requests

from sync.backoff import is_retryable_status
from sync.errors import OpInvalid, SyncError, error_class_for_type

MAX_RETRY_AFTER = 60.0


class TransportError(Exception):
    """A request that failed for a reason other than a protocol error; `retryable` says whether to try later."""

    def __init__(self, message: str, *, retryable: bool, status: int | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status
        self.retry_after = retry_after



def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    return min(float(value), MAX_RETRY_AFTER) if value.strip().isdigit() else None


def _sync_error(cls: type[SyncError], detail: str | None) -> SyncError:
    if cls is OpInvalid:
        return OpInvalid("request", detail or "operation rejected")
    return cls(detail)


def error_for(response: requests.Response, with_token: bool = False) -> Exception:
    """The exception for a non-success response (a SyncError class when the problem type is ours)."""
    status = response.status_code
    body: Any = None
    if "json" in response.headers.get("Content-Type", ""):
        try:
            body = response.json()
        except ValueError:
            body = None
    body = body if isinstance(body, dict) else {}
    cls = error_class_for_type(body.get("type"))
    detail = body.get("detail") if isinstance(body.get("detail"), str) else None
    if cls is not None:
        return _sync_error(cls, detail)
    title = body.get("title") if isinstance(body.get("title"), str) else response.reason
    text = f"server answered {status} {title or ''}".rstrip() + (f": {detail}" if detail else "")
    if status == 401 and with_token:
        text += (" (the server no longer accepts this device's sign-in: run `cme-field sign-in --username ...`;"
                 " unsent work is kept)")
    return TransportError(text, retryable=is_retryable_status(status), status=status,
                          retry_after=_retry_after(response))


def redirect_error(response: requests.Response) -> TransportError:
    """A redirect is an error, not a route: the device talks only to the server it enrolled with."""
    target = urlsplit(response.headers.get("Location", "")).netloc or "elsewhere"
    return TransportError(f"the server answered {response.status_code}, redirecting to {target}; nothing was sent "
                          "there. Check the server address with your supervisor", retryable=False,
                          status=response.status_code)

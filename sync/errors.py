"""Protocol errors, each with a stable code that becomes the RFC 9457 problem `type` on the wire; codes, titles
and statuses come from the one catalogue, `sync.problems`.

A client acts on the code (wipe, resync, upgrade), never on the human-readable title or detail.
`http_status` is the suggested status for the server's single error-to-HTTP mapping; `DeviceLocked` is
raised only on the device (offline time-to-live exceeded) and never travels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from sync.problems import PROBLEM_TYPE_BASE, described, problem_type
from sync.vocabulary import SUPPORTED_PROTOCOL_VERSIONS

__all__ = ["PROBLEM_TYPE_BASE", "problem_type"]  # re-exported: clients have always found them here


@dataclass(frozen=True)
class Problem:
    """One validation finding: a dotted field path (e.g. "payload.outcome") and a human-readable message.

    Lives here rather than in ops.py so conflicts.py and ops.py can both use it without a cycle;
    `sync.ops.Problem` is the same class.
    """

    field: str
    message: str


class SyncError(Exception):
    """Base of all protocol errors."""

    code: ClassVar[str]
    title: ClassVar[str]
    http_status: ClassVar[int]
    code, title, http_status = described("sync-error")

    def __init__(self, detail: str | None = None) -> None:
        self.detail = detail or self.title
        super().__init__(self.detail)

    @property
    def type(self) -> str:
        return problem_type(self.code)

    def to_problem(self) -> dict[str, Any]:
        """RFC 9457 problem details body (the server may add `instance` and extensions)."""
        return {"type": self.type, "title": self.title, "status": self.http_status, "detail": self.detail}


class UnsupportedProtocol(SyncError):
    code, title, http_status = described("unsupported-protocol")


class CursorInvalid(SyncError):
    code, title, http_status = described("cursor-invalid")


class OpInvalid(SyncError):
    """An op envelope that cannot be read at all (payload contents are judged by `validate_payload`)."""

    code, title, http_status = described("op-invalid")

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


class DeviceRevoked(SyncError):
    """The device must wipe its store at once."""

    code, title, http_status = described("device-revoked")


class DeviceRetired(SyncError):
    """The device must push everything it holds, then wipe."""

    code, title, http_status = described("device-retired")


class DeviceLocked(SyncError):
    """Client-side only: offline too long; locked until it reaches the server."""

    code, title, http_status = described("device-locked")


class ResyncRequired(SyncError):
    """The device must rebuild its scope from scratch (pull from an empty cursor)."""

    code, title, http_status = described("resync-required")


ERRORS_BY_CODE: dict[str, type[SyncError]] = {
    cls.code: cls
    for cls in (UnsupportedProtocol, CursorInvalid, OpInvalid, DeviceRevoked, DeviceRetired, DeviceLocked,
                ResyncRequired)
}


def error_class_for_type(type_uri: str | None) -> type[SyncError] | None:
    """Map a received problem `type` back to its error class (client side); None if not one of ours."""
    if not type_uri or not type_uri.startswith(PROBLEM_TYPE_BASE):
        return None
    return ERRORS_BY_CODE.get(type_uri[len(PROBLEM_TYPE_BASE):])


def _supported_text() -> str:
    return ", ".join(str(v) for v in sorted(SUPPORTED_PROTOCOL_VERSIONS))


def check_protocol_version(value: str | int | None) -> int:
    """Parse the protocol header value; raise UnsupportedProtocol unless it names a supported version."""
    if value is None or value == "":
        raise UnsupportedProtocol(f"protocol version missing; supported versions: {_supported_text()}")
    if isinstance(value, bool):
        version = None
    elif isinstance(value, int):
        version = value
    else:
        text = str(value).strip()
        version = int(text) if text.isascii() and text.isdigit() else None
    if version is None or version not in SUPPORTED_PROTOCOL_VERSIONS:
        raise UnsupportedProtocol(
            f"protocol version {value!r} is not supported; supported versions: {_supported_text()}"
        )
    return version

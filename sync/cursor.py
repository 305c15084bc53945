"""Pull cursors and the holdings digest (DESIGN principles 5 and 7).

A cursor is the last change number the device has durably stored plus the scope epoch it was issued under (the
server bumps the epoch when it wants the device to start again). It is opaque to the client: "v1." followed by
unpadded url-safe base64 of compact JSON, then "." and 8 hex of its sha256 so a mangled cursor is detected.
The checksum catches accidents, not forgery: the server still scopes every pull to the device's own cases.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

from sync.errors import CursorInvalid

_PREFIX = "v1"
_CHECK_LEN = 8
_MAX_LEN = 200


@dataclass(frozen=True)
class Cursor:
    change_seq: int = 0
    scope_epoch: int = 0

    def encode(self) -> str:
        return encode_cursor(self.change_seq, self.scope_epoch)


def _checksum(body: str) -> str:
    return hashlib.sha256(f"{_PREFIX}.{body}".encode("ascii")).hexdigest()[:_CHECK_LEN]


def _valid_number(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def encode_cursor(change_seq: int, scope_epoch: int) -> str:
    """Opaque url-safe cursor for (change_seq, scope_epoch); both must be integers >= 0."""
    if not (_valid_number(change_seq) and _valid_number(scope_epoch)):
        raise ValueError("change_seq and scope_epoch must be integers >= 0")
    raw = json.dumps({"c": change_seq, "e": scope_epoch}, separators=(",", ":"), sort_keys=True)
    body = base64.urlsafe_b64encode(raw.encode("ascii")).decode("ascii").rstrip("=")
    return f"{_PREFIX}.{body}.{_checksum(body)}"


def decode_cursor(s: str | None) -> Cursor:
    """Parse a cursor; None or "" is the start (Cursor(0, 0)). Anything malformed raises CursorInvalid."""
    if s is None or s == "":
        return Cursor(0, 0)
    if not isinstance(s, str) or len(s) > _MAX_LEN or not s.isascii():
        raise CursorInvalid("cursor is not a string of the expected form")
    parts = s.split(".")
    if len(parts) != 3 or parts[0] != _PREFIX:
        raise CursorInvalid("cursor format not recognised")
    body, check = parts[1], parts[2]
    if check != _checksum(body):
        raise CursorInvalid("cursor checksum does not match (cursor was altered or truncated)")
    try:
        data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise CursorInvalid("cursor body cannot be decoded") from exc
    if not isinstance(data, dict) or set(data) != {"c", "e"}:
        raise CursorInvalid("cursor body has unexpected content")
    if not (_valid_number(data["c"]) and _valid_number(data["e"])):
        raise CursorInvalid("cursor numbers must be integers >= 0")
    return Cursor(data["c"], data["e"])


def holdings_digest(pairs: Iterable[tuple[int, int]]) -> str:
    """sha256 hex over "case_id:version\\n" lines sorted numerically by case id; identical on both sides.

    A case id appearing twice is a caller bug (a device holds one version of a case) and raises ValueError.
    """
    items = sorted((int(case_id), int(version)) for case_id, version in pairs)
    ids = [case_id for case_id, _ in items]
    if len(ids) != len(set(ids)):
        raise ValueError("holdings contain a case id more than once")
    text = "".join(f"{case_id}:{version}\n" for case_id, version in items)
    return hashlib.sha256(text.encode("ascii")).hexdigest()

"""Capture on the doorstep, offline: build an op, judge it with `sync.ops.validate_payload`, then queue it.

An op that the shared judge finds invalid is refused here with every problem named, and nothing is queued, so
the officer can fix it on the spot instead of a supervisor finding it quarantined later.
"""

from __future__ import annotations

import hashlib
import io
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any, BinaryIO

from field_client import photos, state
from field_client.store import Store
from sync.ops import MAX_PHOTO_BYTES, Op, validate_payload
from sync.text import instant_problem, latest_plausible
from sync.vocabulary import OpKind

_READ = 1024 * 1024
# When something happened on the doorstep: never later than now (plus the shared clock slack).
_WHEN_FIELDS = ("visited_at", "checked_at")


class CaptureError(ValueError):
    """The capture was refused; nothing was queued. `problems` lists "field: message" strings."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        self.problems = problems or []
        super().__init__(message + (": " + "; ".join(self.problems) if self.problems else ""))


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def _moment(value: datetime | str | None, now: datetime) -> str:
    if value is None:
        return now.isoformat()
    return value.isoformat() if isinstance(value, datetime) else value


def new_op_id() -> str:
    """A client-made op id (sync principle 2): random, so two devices never make the same one."""
    return str(uuid.uuid4())


def _always_allowed() -> None:
    pass


class Capture:
    """Builds, judges and queues the officer's ops. `guard` runs before each capture (the engine's offline lock
    raises DeviceLocked there); `new_op_id` makes op ids (tests that must know them in advance inject it)."""

    def __init__(self, store: Store, clock: Callable[[], datetime], *,
                 guard: Callable[[], None] = _always_allowed, new_op_id: Callable[[], str] = new_op_id) -> None:
        self.store = store
        self.clock = clock
        self._guard = guard
        self._new_op_id = new_op_id

    # ---- shared ----------------------------------------------------------------------------------
    def _snapshot(self, case_id: int) -> dict[str, Any]:
        snapshot = self.store.records.get(state.CASES, str(case_id)) if isinstance(case_id, int) else None
        if snapshot is None:
            raise CaptureError(f"case {case_id} is not on this device")
        return snapshot

    def _build(self, kind: OpKind, case_id: int, payload: dict[str, Any], base_version: int | None = None) -> Op:
        payload = {key: _plain(value) for key, value in payload.items() if value is not None}
        op = Op(op_id=self._new_op_id(), kind=kind.value, case_id=case_id, device_time=self.clock().isoformat(),
                payload=payload, base_version=base_version)
        problems = [f"{p.field}: {p.message}" for p in validate_payload(op)]
        problems += self._future_problems(payload, {p.split(":")[0] for p in problems})
        if problems:
            raise CaptureError(f"{kind.value} not recorded", problems)
        return op

    def _future_problems(self, payload: dict[str, Any], refused: set[str]) -> list[str]:
        """The shared judge bounds years; only the device knows its "now", so a visit next week is refused here
        (the server flags such times for review instead, as its clock may differ)."""
        latest = latest_plausible(self.clock())
        found = []
        for name in _WHEN_FIELDS:
            value, field = payload.get(name), f"payload.{name}"
            if not isinstance(value, str) or field in refused:
                continue
            try:
                problem = instant_problem(datetime.fromisoformat(value), latest=latest)
            except ValueError:
                continue  # not ISO 8601: the shared judge has said so
            if problem:
                found.append(f"{field}: {problem}")
        return found

    def _queue(self, op: Op) -> str:
        self.store.outbox.add(op.op_id, str(op.case_id), op.kind, op.to_wire())
        return op.op_id

    # ---- capture ---------------------------------------------------------------------------------
    def record_visit(self, case_id: int, outcome: str, visited_at: datetime | str | None = None,
                     notes: str | None = None, notice_left: bool | None = None,
                     person_spoken_to: str | None = None, new_address: dict[str, Any] | None = None) -> str:
        """Queue a record_home_visit op (and keep the visit, so photos can be attached); return the op id."""
        self._guard()
        self._snapshot(case_id)
        when = _moment(visited_at, self.clock())
        op = self._build(OpKind.record_home_visit, case_id, {
            "visited_at": when, "outcome": outcome, "notes": notes, "notice_left": notice_left,
            "person_spoken_to": person_spoken_to, "new_address": new_address})
        with self.store.transaction():
            self._queue(op)
            self.store.records.put(state.VISITS, op.op_id, 1, {"case_id": case_id, "visited_at": when})
        return op.op_id

    def record_address_check(self, case_id: int, source: str, result: str, notes: str | None = None,
                             new_address: dict[str, Any] | None = None,
                             checked_at: datetime | str | None = None) -> str:
        self._guard()
        self._snapshot(case_id)
        op = self._build(OpKind.record_address_check, case_id, {
            "checked_at": _moment(checked_at, self.clock()), "source": source, "result": result,
            "notes": notes, "new_address": new_address})
        return self._queue(op)

    def propose_change(self, case_id: int, changes: dict[str, Any]) -> str:
        self._guard()
        self._snapshot(case_id)
        base = self.store.records.version_of(state.CASES, str(case_id))
        return self._queue(self._build(OpKind.propose_case_change, case_id, {"changes": changes}, base))

    def acknowledge_assignment(self, case_id: int) -> str:
        self._guard()
        assignment = self._snapshot(case_id).get("assignment") or {}
        op = self._build(OpKind.acknowledge_assignment, case_id, {"assignment_id": assignment.get("id")})
        return self._queue(op)

    def add_photo(self, visit_op_id: str, path_or_bytes: str | os.PathLike[str] | bytes, content_type: str,
                  caption: str | None = None) -> str:
        """Encrypt the photo into the store at once and queue its attach_photo op (sent after the upload)."""
        self._guard()
        known = isinstance(visit_op_id, str) and visit_op_id
        visit = self.store.records.get(state.VISITS, visit_op_id) if known else None
        if visit is None:
            raise CaptureError(f"visit {visit_op_id} is not on this device")
        sha256, size = _measure(path_or_bytes)
        op = self._build(OpKind.attach_photo, visit["case_id"], {
            "visit_op_id": visit_op_id, "sha256": sha256, "size": size, "content_type": content_type,
            "caption": caption})
        with self.store.transaction():
            with _source(path_or_bytes) as data:
                stored = self.store.photos.put(op.op_id, data)
            if stored != sha256:
                raise CaptureError("the photo file changed while it was being stored; try again")
            self._queue(op)
            photos.register(self.store, op.op_id, sha256, size, content_type)
        return op.op_id


def _measure(source: str | os.PathLike[str] | bytes) -> tuple[str, int]:
    """(sha256 hex, size) without keeping a copy; refuses files over the protocol's limit before reading."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return hashlib.sha256(source).hexdigest(), len(source)
    path = Path(source)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise CaptureError(f"cannot read photo {path}: {exc.strerror or exc}") from None
    if size > MAX_PHOTO_BYTES:
        raise CaptureError(f"photo is {size} bytes; the limit is {MAX_PHOTO_BYTES}")
    digest, total = hashlib.sha256(), 0
    with _source(source) as stream:
        while block := stream.read(_READ):
            digest.update(block)
            total += len(block)
    return digest.hexdigest(), total


@contextmanager
def _source(source: str | os.PathLike[str] | bytes) -> Iterator[BinaryIO]:
    """Bytes as a stream, or the open file, so a photo streams from disk into the store without a copy."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        yield io.BytesIO(bytes(source))
        return
    try:
        handle = open(source, "rb")
    except OSError as exc:
        raise CaptureError(f"cannot read photo {source}: {exc.strerror or exc}") from None
    with handle:
        yield handle

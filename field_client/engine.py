"""The sync engine: drives `sync/` and the encrypted store (DESIGN "Sync protocol principles", PROTOCOL.md).

One `sync()`:
1. push the outbox in batches: record ops first, and attach_photo ops whose photo is already uploaded; an op
   leaves the outbox when the server answers anything for it, and stays on network errors, 5xx and 429;
2. upload pending photos (tus, resuming from the saved offset), then push the attach ops that became ready;
3. purge cases that left scope once nothing for them is pending;
4. pull pages until `more` is false, each page and its cursor in one store transaction; `resync` rebuilds;
5. the consistency check rides on every pull: each page request carries the digest of what is held before it;
   when every page matched, nothing more is asked; otherwise (a mismatch, which a pull delivered twice also
   causes, or a server whose pull does not answer it) `check` compares what is held now and, on mismatch,
   the device resyncs once and checks again.
Device control: revoked -> the store is erased at once; retired -> everything pending is pushed, goodbye is said,
and the store is erased. A sync that succeeds records the contact time that the offline time-to-live counts from.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from marshmallow import ValidationError

from field_client import photos, state
from field_client.capture import Capture, new_op_id
from field_client.holdings import Holdings, parse_page
from field_client.photos import PhotoUploader
from field_client.status import device_status
from field_client.store import OutboxItem, Store
from field_client.sync_transport import SyncTransport
from field_client.transport import TransportError
from schemas import CheckResponseSchema, PushResponseSchema
from sync.cursor import decode_cursor
from sync.errors import CursorInvalid, DeviceLocked, DeviceRetired, DeviceRevoked, ResyncRequired, SyncError
from sync.problems import described
from sync.vocabulary import DEFAULT_PULL_LIMIT, MAX_PUSH_OPS, OpKind, OpStatus

Progress = Callable[[str, int, int | None], None]
NOTABLE = frozenset({OpStatus.clash, OpStatus.conflict_soft, OpStatus.conflict_hard, OpStatus.quarantined})
CLOCK_SKEW = timedelta(minutes=15)  # a clock wound back further than this before the last contact locks too
MAX_RESYNCS = 4  # per sync; a server that keeps asking is a fault, not a reason to loop


class RetirementIncomplete(SyncError):
    """Client-side only: the device is retired but some ops could not be sent yet, so it did not wipe."""

    code, title, http_status = described("retirement-incomplete")


@dataclass
class SyncReport:
    pushed: int = 0
    statuses: dict[str, int] | None = None
    photos_uploaded: int = 0
    photos_failed: int = 0
    cases_received: int = 0
    purged: int = 0
    leaving: int = 0
    resyncs: int = 0
    consistent: bool | None = None
    retired: bool = False
    pending: int = 0

    def count(self, status: str) -> None:
        self.statuses = self.statuses or {}
        self.statuses[status] = self.statuses.get(status, 0) + 1
        self.pushed += 1


def _short(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:200]


class SyncEngine:
    """Sync, reading and the offline lock. Capture is `engine.capture` (`Capture`), refused while locked.

    `transport` is None for an engine that only reads and captures; `new_op_id` is for tests that must know
    op ids before a capture returns (a crash test's log)."""

    def __init__(self, store: Store, transport: SyncTransport | None,
                 clock: Callable[[], datetime] = state.local_now, sleep: Callable[[float], None] = time.sleep, *,
                 push_batch: int = 100, pull_limit: int = DEFAULT_PULL_LIMIT, rng: random.Random | None = None,
                 new_op_id: Callable[[], str] = new_op_id) -> None:
        self.store, self.transport, self.clock = store, transport, clock
        self.push_batch = max(1, min(push_batch, MAX_PUSH_OPS))
        self.pull_limit = pull_limit
        self.holdings = Holdings(store)
        self.capture = Capture(store, clock, guard=self.require_unlocked, new_op_id=new_op_id)
        self.uploader = PhotoUploader(store, transport, sleep, rng=rng) if transport is not None else None
        self.erased = False

    # ---- offline time-to-live ----------------------------------------------------------------------
    def locked(self, now: datetime | None = None) -> bool:
        """True when the device has not reached the server within its offline TTL (or its clock went back)."""
        now = now or self.clock()
        ttl = self.store.state.get(state.OFFLINE_TTL)
        last = state.parse_time(self.store.state.get(state.LAST_CONTACT))
        if not isinstance(ttl, int) or last is None or now < last - CLOCK_SKEW:
            return True
        return (now - last).total_seconds() > ttl

    def require_unlocked(self) -> None:
        if self.locked():
            raise DeviceLocked("offline too long: run `sync` to reach the server before using case data")

    # ---- reading and capture (refused while locked) -----------------------------------------------
    def cases(self) -> list[dict[str, Any]]:
        self.require_unlocked()
        return self.holdings.all()

    def case(self, case_id: int) -> dict[str, Any] | None:
        self.require_unlocked()
        return self.holdings.get(case_id)

    def outbox(self) -> list[OutboxItem]:
        self.require_unlocked()
        return self.store.outbox.pending()

    # ---- sync --------------------------------------------------------------------------------------
    def sync(self, progress: Progress | None = None) -> SyncReport:
        if self.transport is None:
            raise ValueError("this engine was made without a transport: it cannot sync")
        report = SyncReport()
        try:
            try:
                self._sync_steps(report, progress)
            except DeviceRetired:
                self._retire(report, progress)
                return report
        except DeviceRevoked:
            self._erase()
            raise
        now = state.utc_iso(self.clock())
        with self.store.transaction():
            self.store.state.set(state.LAST_CONTACT, now)
            self.store.state.set(state.LAST_SYNC_AT, now)
        report.pending = len(self.store.outbox.pending())
        report.leaving = len(self.holdings.leaving())
        return report

    def _sync_steps(self, report: SyncReport, progress: Progress | None) -> None:
        self._send_all(report, progress)
        report.purged += self.holdings.purge_leaving()
        report.consistent = self._pull_all(report, progress)
        if not report.consistent:  # a page disagreed, or the pull did not answer: ask what holds now
            self._check(report, progress)

    def _send_all(self, report: SyncReport, progress: Progress | None) -> None:
        self._push_ready(report, progress)
        report.photos_uploaded, report.photos_failed = self.uploader.upload_all(progress)
        if report.photos_uploaded:
            self._push_ready(report, progress)

    def _retire(self, report: SyncReport, progress: Progress | None) -> None:
        self._send_all(report, progress)
        left = self.store.outbox.pending()
        if left:
            raise RetirementIncomplete(f"this device is retired but {len(left)} operation(s) are not sent yet; "
                                       "sync again when the connection is better")
        # DeviceRevoked here means the answer to an earlier goodbye was lost: the server already counts this
        # device as wiped, so erasing is still right.
        with contextlib.suppress(DeviceRevoked):
            self.transport.goodbye()
        self._erase()
        report.retired = True

    def _erase(self) -> None:
        if not self.erased:
            self.store.erase()
            self.erased = True

    # ---- push ----------------------------------------------------------------------------------------
    def _ready(self) -> list[OutboxItem]:
        uploads = photos.entries(self.store)
        return [item for item in self.store.outbox.pending()
                if item.kind != OpKind.attach_photo or uploads.get(item.op_id, {}).get("done")]

    def _push_ready(self, report: SyncReport, progress: Progress | None) -> None:
        ready = self._ready()
        for start in range(0, len(ready), self.push_batch):
            self._push_batch(ready[start:start + self.push_batch], report)
            if progress:
                progress("push", min(start + self.push_batch, len(ready)), len(ready))

    def _push_batch(self, items: list[OutboxItem], report: SyncReport) -> None:
        try:
            answer = self.transport.push([item.op for item in items])
            results = PushResponseSchema().load(answer)["results"]
        except (TransportError, ValidationError) as exc:
            for item in items:
                self.store.outbox.record_attempt(item.op_id, _short(exc))
            if isinstance(exc, ValidationError):
                raise TransportError("the server's push answer is malformed", retryable=False) from None
            raise
        by_id = {result["op_id"]: result for result in results}
        answered = [item for item in items if item.op_id in by_id]
        with self.store.transaction():
            self.store.outbox.acknowledge([item.op_id for item in answered])
            self._remember([(item, by_id[item.op_id]) for item in answered])
            for item in answered:
                if item.kind == OpKind.attach_photo:
                    photos.forget(self.store, item.op_id)
        for item in items:
            if item.op_id in by_id:
                report.count(by_id[item.op_id]["status"])
            else:
                self.store.outbox.record_attempt(item.op_id, "the server's answer had no result for this op")

    def _remember(self, answered: list[tuple[OutboxItem, dict[str, Any]]]) -> None:
        """Keep the verdicts a person must see (clash, conflicts, quarantines) for `status`, bounded."""
        notable = [{"op_id": item.op_id, "kind": item.kind, "case_id": result.get("case_id") or item.op["case_id"],
                    "status": result["status"], "reason": result.get("reason"), "detail": result.get("detail"),
                    "fields": sorted(result.get("hard_fields") or {}), "at": state.utc_iso(self.clock())}
                   for item, result in answered if result["status"] in NOTABLE]
        if notable:
            kept = self.store.state.get(state.RESULTS, []) + notable
            self.store.state.set(state.RESULTS, kept[-state.MAX_RESULTS:])

    # ---- pull and check ------------------------------------------------------------------------------
    def _pull_all(self, report: SyncReport, progress: Progress | None) -> bool | None:
        """Pull to the end; True when every page's check matched, False on a mismatch, None when unanswered.

        The digest goes on every page, not only the first: a page answered but lost (then asked again) leaves
        the server's holdings ahead of the device's, and only a later page's check can tell within this sync.
        Every page matching proves the end state too: each page's effect was applied as the server recorded it."""
        cursor = self.store.state.get(state.CURSOR)
        matched: bool | None = True
        while True:
            digest, count = self._digest()
            page = parse_page(self.transport.pull(cursor, self.pull_limit, digest, count))
            if page.resync:
                self._resync(report, page.cursor)
                cursor, matched = self.store.state.get(state.CURSOR), True
                continue
            matched = _and_check(matched, page.check)
            stored, purged, kept = self.holdings.apply_page(page, state.utc_iso(self.clock()))
            report.cases_received += stored
            report.purged += purged
            cursor = page.cursor
            if progress:
                progress("pull", report.cases_received, None)
            if not page.more:
                return matched

    def _resync(self, report: SyncReport, server_cursor: str | None) -> None:
        """Drop what is held (keeping cases with pending ops as leaving) and start again from the beginning."""
        report.resyncs += 1
        if report.resyncs > MAX_RESYNCS:
            raise ResyncRequired("the server keeps asking for a resync; try again later")
        self.holdings.reset(_start_cursor(server_cursor))

    def _check(self, report: SyncReport, progress: Progress | None) -> None:
        """The separate check of what is held after the pull: when a page disagreed (perhaps only because it was
        delivered twice), or for a server whose pull does not answer it."""
        report.consistent = self._consistent()
        if not report.consistent:
            self._resync(report, None)
            self._pull_all(report, progress)
            report.consistent = self._consistent()

    def _consistent(self) -> bool:
        digest, count = self._digest()
        try:
            answer = CheckResponseSchema().load(self.transport.check(digest, count))
        except ValidationError:
            raise TransportError("the server's check answer is malformed", retryable=False) from None
        return answer["match"] and not answer["resync"]

    def _digest(self) -> tuple[str, int]:
        """The holdings digest, recomputed (every record decrypted) only when the sealed rows or the leaving list
        changed since it was last computed: a sync that changed nothing reuses it.

        The check itself still runs every sync (on each pull page): an answer lost or delivered twice can leave the server's
        holdings ahead of the device's with nothing in the next pull to say so, and only the check tells."""
        fingerprint = self.holdings.fingerprint()
        cached = self.store.state.get(state.CHECKED) or {}
        if cached.get("fingerprint") == fingerprint:
            return cached["digest"], cached["count"]
        digest, count = self.holdings.digest()
        self.store.state.set(state.CHECKED, {"fingerprint": fingerprint, "digest": digest, "count": count})
        return digest, count

    # ---- status ----------------------------------------------------------------------------------------
    def status(self, now: datetime | None = None) -> dict[str, Any]:
        """What `cme-field status` shows (see `field_client.status`); no case data, so allowed while locked."""
        now = now or self.clock()
        return device_status(self.store, self.holdings.leaving(), self.locked(now), now)


def _and_check(matched: bool | None, check: dict[str, Any] | None) -> bool | None:
    """Fold one page's check into the pull's: any mismatch is False, else any unanswered page is None."""
    if matched is False or check is None:
        return False if matched is False else None
    return bool(check["match"])


def _start_cursor(server_cursor: str | None) -> str | None:
    """The cursor a resync restarts from: the server's, when it points at the start of its new scope epoch."""
    try:
        return server_cursor if server_cursor and decode_cursor(server_cursor).change_seq == 0 else None
    except CursorInvalid:
        return None


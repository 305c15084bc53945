"""Uploads that never became evidence: a quota per officer, and a purge after a set time.

Decisions:
- "Unlinked" bytes are what an officer's uploads hold without being attached to a visit: completed uploads no
  photo of theirs links, plus unfinished uploads not yet expired (their declared length is what they will take).
  A new upload that would take an officer past `UNLINKED_QUOTA_BYTES` is refused with 413 naming the quota.
- A completed upload left unlinked for `UNLINKED_TTL` is purged, and its blob too unless a photo or another
  completed upload still needs it (blobs are shared by hash). One named by an open review item (an attach_photo
  kept for a supervisor) is evidence awaiting a decision and stays.
- The purge locks the rows it removes and skips rows locked by a link in progress (PostgreSQL), and linking
  locks the upload it relies on, so a photo is never linked to a blob being purged. Safe to run twice at once.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sync.problems import described
from sync.vocabulary import OpKind
from ..adapters.blobs import BlobStore
from ..domain.errors import DomainError
from .clock import utcnow

UNLINKED_TTL = timedelta(days=7)  # beyond any device's offline time-to-live (72 hours by default)
UNLINKED_QUOTA_BYTES = 200 * 1024 * 1024
PURGE_BATCH = 100
MIB = 1024 * 1024


class UploadQuotaExceeded(DomainError):
    code, title, status = described("upload-quota-exceeded")


def unlinked_bytes(uow, owner_id: int, now: datetime) -> int:
    return uow.uploads.unlinked_bytes(owner_id, now)


def check_quota(uow, owner_id: int, length: int, now: datetime) -> None:
    used = unlinked_bytes(uow, owner_id, now)
    if used + length > UNLINKED_QUOTA_BYTES:
        raise UploadQuotaExceeded(
            f"uploads not yet attached to a visit may hold {UNLINKED_QUOTA_BYTES // MIB} MiB per officer; yours "
            f"hold {used / MIB:.1f} MiB. Attach them to visits (sync), or wait {UNLINKED_TTL.days} days for "
            "unattached ones to be removed", field="Upload-Length")


def purge_unlinked(uow, blobs: BlobStore, now: datetime | None = None) -> int:
    """Remove up to PURGE_BATCH completed uploads unlinked for UNLINKED_TTL (and blobs nothing else needs)."""
    now = now or utcnow()
    gone = uow.uploads.unlinked_since_locked(now - UNLINKED_TTL, _held_for_review(uow), PURGE_BATCH)
    uow.uploads.remove(gone)
    store = blobs.within(uow.session)
    for sha256 in sorted({u.sha256 for u in gone}):
        if not _still_needed(uow, sha256):
            store.delete(sha256)
    return len(gone)


def _held_for_review(uow) -> set[tuple[int, str]]:
    """(officer, sha256) of attach_photo ops kept open for review: their upload is evidence in waiting. Open
    review items are few (a supervisor's queue), so they are read and their op judged here."""
    held = set()
    for item in uow.review_items.listing(open_only=True, case_id=None):
        op = item.op if isinstance(item.op, dict) else {}
        payload = op.get("payload") if isinstance(op.get("payload"), dict) else {}
        if op.get("kind") == OpKind.attach_photo.value and isinstance(payload.get("sha256"), str):
            held.add((item.officer_id, payload["sha256"].lower()))
    return held


def _still_needed(uow, sha256: str) -> bool:
    return uow.photos.any_with(sha256) or uow.uploads.any_completed_with(sha256)

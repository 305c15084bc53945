"""Photo evidence: resumable uploads (tus 1.0, DESIGN principle 8), linking a stored photo to an enquiry, reading it.

Decisions:
- A PATCH body is streamed into a staging file *outside* any database transaction (a slow phone must not hold
  SQLite's write lock or a PostgreSQL row lock), then appended under the upload's row lock if the offset still
  matches. The database offset is the truth; the part on disk is cut back to it on every append.
- Store calls made inside a transaction go through `blobs.within(session)`: a store that keeps photos in the
  database (BLOB_STORE=database) then writes in that transaction, since on SQLite a second connection would wait
  for the write lock this one holds, and on PostgreSQL a part and its upload's offset then commit together.
- hashlib cannot resume a running SHA-256 in another process, so on the last byte the whole part is re-hashed,
  streaming, while it is copied into the blob store; a mismatch stores nothing and discards the upload.
- Linking needs the blob *and* a completed upload of it by the same user: knowing a hash must not be enough
  to attach (and then read) someone else's photo.
"""
from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sync.ops import MAX_CAPTION, MAX_PHOTO_BYTES, PHOTO_CONTENT_TYPES
from sync.problems import described
from ..adapters.blobs import BlobMismatch, BlobStore, ChunkTooLarge, PartMissing, StagedChunk
from ..adapters.upload_models import Photo, Upload
from ..domain.access import Actor, Permission
from ..domain.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from ..domain.vocabulary import Role
from . import audit
from .access import CaseHidden, load_case, may_see
from .clock import as_utc, utcnow
from .uow import Database
from .upload_quota import check_quota, purge_unlinked

UPLOAD_TTL = timedelta(hours=24)
MAX_CHUNK_BYTES = 8 * 1024 * 1024  # per PATCH; clients send photos in chunks no larger than this
MAX_OPEN_UPLOADS = 50  # unfinished uploads per officer: bounds the disk one account can claim
PURGE_BATCH = 100
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class BadRequest(DomainError):
    code, title, status = described("bad-request")


class UploadTooLarge(DomainError):
    code, title, status = described("upload-too-large")


class UnsupportedMediaType(DomainError):
    code, title, status = described("unsupported-media-type")


class OffsetMismatch(DomainError):
    code, title, status = described("offset-mismatch")


class UploadGone(DomainError):
    code, title, status = described("upload-expired")


class ChecksumMismatch(DomainError):
    code, title, status = described("checksum-mismatch")


class TooManyUploads(DomainError):
    code, title, status = described("too-many-uploads")


class ChunkBody(Protocol):
    """A request body to read; `disconnected` turns true if the client went away before its end."""

    disconnected: bool

    def read(self, size: int = -1, /) -> bytes: ...


@dataclass(frozen=True)
class UploadState:
    id: str
    offset: int
    length: int
    expires_at: datetime
    completed: bool


@dataclass(frozen=True)
class PhotoFile:
    id: int
    case_id: int
    sha256: str
    size: int
    content_type: str


def create_upload(uow, actor: Actor, blobs: BlobStore, *, length: int,
                  metadata: dict[str, str]) -> UploadState:
    """tus creation. Only officers upload evidence; the declared hash and type are checked before any byte."""
    if actor.role != Role.OFFICER:
        raise Forbidden("only attendance officers upload photos", rule="role:upload_photo")
    if length < 1:
        raise BadRequest("Upload-Length must be at least 1", field="Upload-Length")
    if length > MAX_PHOTO_BYTES:
        raise UploadTooLarge(f"a photo may be at most {MAX_PHOTO_BYTES} bytes", field="Upload-Length")
    sha256 = _declared_sha256(metadata.get("sha256"))
    content_type = (metadata.get("content_type") or "").strip().lower()
    if content_type not in PHOTO_CONTENT_TYPES:
        raise UnsupportedMediaType("content_type must be one of " + ", ".join(sorted(PHOTO_CONTENT_TYPES)),
                                   field="content_type")
    now = utcnow()
    purge_expired(uow, blobs, now)
    if uow.uploads.open_count(actor.user_id, now) >= MAX_OPEN_UPLOADS:
        raise TooManyUploads(f"finish or delete some of your {MAX_OPEN_UPLOADS} unfinished uploads first")
    check_quota(uow, actor.user_id, length, now)
    upload = Upload(id=uuid.uuid4().hex, owner_id=actor.user_id, device_id=actor.device_id, length=length,
                    offset=0, sha256=sha256, content_type=content_type,
                    filename=safe_filename(metadata.get("filename")), created_at=now, expires_at=now + UPLOAD_TTL)
    uow.uploads.add(upload)
    return _state(upload)


def upload_offset(uow, actor: Actor, upload_id: str) -> UploadState:
    """tus HEAD: where to resume."""
    return _state(_owned(uow, actor, upload_id))


def append_chunk(db: Database, actor: Actor, blobs: BlobStore, upload_id: str, *, offset: int,
                 body: ChunkBody, declared_length: int | None, checksum: bytes | None) -> UploadState:
    """tus PATCH. Takes the Database, not a unit of work: the body is read between two short transactions."""
    with db.transaction() as uow:
        upload = _owned(uow, actor, upload_id)
        _check_offset(upload, offset)
        remaining = upload.length - upload.offset
        if declared_length is not None and declared_length > remaining:
            raise UploadTooLarge(f"the chunk runs past Upload-Length; {remaining} bytes remain",
                                 field="Content-Length")
    try:
        staged = blobs.stage_chunk(upload_id, body, limit=remaining)
    except ChunkTooLarge as err:
        raise UploadTooLarge(f"the chunk runs past Upload-Length; {remaining} bytes remain",
                             field="Content-Length") from err
    truncated = body.disconnected or (declared_length is not None and staged.size < declared_length)
    if checksum is not None and (truncated or staged.digest != checksum):
        blobs.discard_staged(staged)  # tus checksum extension: the chunk is dropped, the offset stays
        if truncated:
            raise BadRequest("the chunk ended early, so its checksum cannot be verified; nothing was stored")
        raise ChecksumMismatch("the chunk was discarded; send it again from the same offset",
                               field="Upload-Checksum")
    if staged.size == 0:  # nothing arrived: nothing to append
        blobs.discard_staged(staged)
        with db.transaction() as uow:
            return upload_offset(uow, actor, upload_id)
    return _commit_chunk(db, actor, blobs, staged, offset)


def _commit_chunk(db: Database, actor: Actor, blobs: BlobStore, staged: StagedChunk,
                  offset: int) -> UploadState:
    """Append under the row lock; on the last byte, verify and store the whole file."""
    refused: DomainError | None = None
    try:
        with db.transaction() as uow:
            upload = _owned(uow, actor, staged.upload_id, for_update=True)
            _check_offset(upload, offset)  # another PATCH may have won the race meanwhile
            try:
                upload.offset = blobs.within(uow.session).append_staged(staged, offset)
            except PartMissing:
                refused = UploadGone("the upload's stored data was lost; start a new upload")
                _discard(uow, blobs, upload)
            else:
                if upload.offset == upload.length:
                    refused = _complete(uow, blobs, upload)
            state = _state(upload)
    finally:
        blobs.discard_staged(staged)  # already gone when appended; a refused chunk leaves nothing behind
    if refused is not None:
        raise refused  # raised after commit, so that the discarded upload stays discarded
    return state


def _complete(uow, blobs: BlobStore, upload: Upload) -> DomainError | None:
    blobs = blobs.within(uow.session)
    try:
        with blobs.open_part(upload.id) as part:
            blobs.put_stream(part, expected_sha256=upload.sha256)  # one streaming pass: hash and copy
    except BlobMismatch as err:
        _discard(uow, blobs, upload)
        return InvalidInput(f"the file's SHA-256 is {err.actual}, not the declared {err.expected}; "
                            "the upload was discarded", field="sha256")
    upload.completed_at = utcnow()
    blobs.delete_part(upload.id)  # before commit: a failed commit then shows as a lost part, never a stray one
    return None


def terminate_upload(uow, actor: Actor, blobs: BlobStore, upload_id: str) -> None:
    """tus termination of an unfinished upload; a finished one is evidence and stays."""
    upload = _owned(uow, actor, upload_id, allow_expired=True)
    if upload.completed_at is not None:
        raise Conflict("the upload is complete and its photo is stored; it cannot be deleted")
    _discard(uow, blobs, upload)


def purge_uploads(uow, blobs: BlobStore, now: datetime | None = None) -> dict[str, int]:
    """One batch of scheduled cleaning (`cme-server purge-uploads`): expired unfinished uploads, and completed
    ones never linked to a visit (upload_quota). Returns how many of each went."""
    now = now or utcnow()
    return {"expired": purge_expired(uow, blobs, now), "unlinked": purge_unlinked(uow, blobs, now)}


def purge_expired(uow, blobs: BlobStore, now: datetime) -> int:
    """Remove unfinished uploads past their expiry, rows and parts; returns how many went."""
    expired = uow.uploads.expired_locked(now, PURGE_BATCH)  # skips uploads being appended to right now
    for upload in expired:
        _discard(uow, blobs, upload)
    return len(expired)


def link_photo(uow, actor: Actor, *, enquiry_id: int, sha256: str, size: int, content_type: str,
               caption: str | None, op_id: str | None, blobs: BlobStore | None = None) -> dict:
    """Attach a stored photo to an enquiry as evidence; the same op_id returns its first result.

    The caller records the case change (the push service bumps the version once per op). `blobs` defaults to
    the store wired into the unit of work's session.
    """
    sha256 = sha256.lower() if isinstance(sha256, str) else ""
    if op_id is not None:
        earlier = uow.photos.by_op_id(op_id)
        if earlier is not None:
            if (earlier.enquiry_id, earlier.sha256, earlier.linked_by) != (enquiry_id, sha256, actor.user_id):
                raise Conflict("this op_id already linked a different photo", field="op_id")
            return photo_view(earlier)
    enquiry = uow.enquiries.get(enquiry_id)
    if enquiry is None:
        raise NotFound(f"no enquiry {enquiry_id}")
    case = load_case(uow, actor, enquiry.case_id, Permission.RECORD_ENQUIRY)
    _check_link_fields(sha256, size, content_type, caption)
    _check_possession(uow, actor, blobs or session_blobs(uow), sha256, size)
    photo = Photo(enquiry_id=enquiry.id, case_id=case.id, sha256=sha256, size=size, content_type=content_type,
                  caption=caption, op_id=op_id, linked_by=actor.user_id, linked_at=utcnow())
    uow.photos.add(photo)
    audit.record(uow, actor, "photo.link", case.id, detail=f"photo:{photo.id}")
    return photo_view(photo)


def open_photo(uow, actor: Actor, photo_id: int) -> PhotoFile:
    """A linked photo's details for whoever may see its case (404 for everyone else); the read is audited."""
    photo = uow.photos.get(photo_id)
    if photo is None:
        raise NotFound(f"no photo {photo_id}")
    if not may_see(uow, actor, photo.case_id):  # answered as missing, audited as a denied read
        raise CaseHidden(photo.case_id, f"no photo {photo_id}")
    audit.record(uow, actor, "photo.read", photo.case_id, detail=f"photo:{photo.id}")
    return PhotoFile(photo.id, photo.case_id, photo.sha256, photo.size, photo.content_type)


def photo_view(photo: Photo) -> dict:
    return {"id": photo.id, "enquiry_id": photo.enquiry_id, "case_id": photo.case_id,
            "sha256": photo.sha256, "size": photo.size, "content_type": photo.content_type,
            "caption": photo.caption}


def safe_filename(raw: str | None) -> str | None:
    """Keep only a printable basename of at most 200 characters; it is shown to people, never used as a path."""
    if not raw:
        return None
    base = re.split(r"[\\/]", raw)[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip().lstrip(".")
    return base[:200] or None


def _declared_sha256(value: str | None) -> str:
    sha = (value or "").strip().lower()
    if not _SHA256.match(sha):
        raise InvalidInput("Upload-Metadata must carry sha256: the file's SHA-256 as 64 hex characters",
                           field="sha256")
    return sha


def _check_link_fields(sha256: str, size: int, content_type: str, caption: str | None) -> None:
    if not _SHA256.match(sha256):
        raise InvalidInput("sha256 must be 64 lowercase hex characters", field="sha256")
    if isinstance(size, bool) or not isinstance(size, int) or not 0 < size <= MAX_PHOTO_BYTES:
        raise InvalidInput(f"size must be an integer from 1 to {MAX_PHOTO_BYTES}", field="size")
    if content_type not in PHOTO_CONTENT_TYPES:
        raise InvalidInput("content_type must be one of " + ", ".join(sorted(PHOTO_CONTENT_TYPES)),
                           field="content_type")
    if caption is not None and (not isinstance(caption, str) or len(caption) > MAX_CAPTION):
        raise InvalidInput(f"caption must be text of at most {MAX_CAPTION} characters", field="caption")


def _check_possession(uow, actor: Actor, blobs: BlobStore, sha256: str, size: int) -> None:
    # The upload row is locked until commit, so the purge of unlinked uploads cannot remove it meanwhile.
    mine = uow.uploads.completed_of_locked(actor.user_id, sha256)
    blobs = blobs.within(uow.session)
    if mine is None:  # the supervisor's review item tells the two apart; the device is told neither
        elsewhere = "; a photo with this sha256 was uploaded by someone else" if blobs.exists(sha256) else ""
        raise InvalidInput(f"you have not uploaded a photo with this sha256{elsewhere}; upload it first",
                           field="sha256")
    if not blobs.exists(sha256) or blobs.size(sha256) != size:
        raise InvalidInput("no stored photo has this sha256 and size; upload it first", field="sha256")


def _owned(uow, actor: Actor, upload_id: str, *, for_update: bool = False,
           allow_expired: bool = False) -> Upload:
    """The actor's own upload; anyone else's, or none, is 404. Past expiry (and unfinished) it is 410."""
    upload = uow.uploads.get(upload_id, for_update=for_update)
    if upload is None or upload.owner_id != actor.user_id:
        raise NotFound(f"no upload {upload_id}")
    if not allow_expired and upload.completed_at is None and as_utc(upload.expires_at) <= utcnow():
        raise UploadGone(f"upload {upload_id} expired at {as_utc(upload.expires_at).isoformat()}")
    return upload


def _check_offset(upload: Upload, offset: int) -> None:
    if offset != upload.offset:
        raise OffsetMismatch(f"the upload is at offset {upload.offset}, not {offset}; HEAD it and resume",
                             field="Upload-Offset")


def _discard(uow, blobs: BlobStore, upload: Upload) -> None:
    uow.uploads.remove([upload])
    blobs.within(uow.session).delete_part(upload.id)


def _state(upload: Upload) -> UploadState:
    return UploadState(upload.id, upload.offset, upload.length, as_utc(upload.expires_at),
                       upload.completed_at is not None)


def session_blobs(uow) -> BlobStore:
    """The blob store the application wired into its sessions (`create_app`), for callers that pass none."""
    provider = uow.session.info.get("blobs")
    if provider is None:
        raise RuntimeError("this session has no blob store: pass one, or open sessions from the app's factory")
    return provider()

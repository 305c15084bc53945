"""Photo evidence: tus uploads (unfinished and completed) and the photos linked to enquiries."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, exists, func, or_, select, tuple_
from sqlalchemy.orm import Session

from ..upload_models import Photo, Upload


def _linked():
    """SQL: a photo of the upload's owner links its hash."""
    return exists().where(Photo.sha256 == Upload.sha256, Photo.linked_by == Upload.owner_id)


class UploadRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, upload_id: str, *, for_update: bool = False) -> Upload | None:
        stmt = select(Upload).where(Upload.id == upload_id)
        return self.session.scalar(stmt.with_for_update() if for_update else stmt)

    def add(self, upload: Upload) -> Upload:
        self.session.add(upload)
        self.session.flush()
        return upload

    def remove(self, uploads: list[Upload]) -> None:
        for upload in uploads:
            self.session.delete(upload)
        self.session.flush()

    def expired_locked(self, now: datetime, limit: int) -> list[Upload]:
        """Unfinished uploads past their expiry, locked; skip_locked: one being appended to right now is left
        for the next purge (PostgreSQL)."""
        return list(self.session.scalars(select(Upload).where(
            Upload.expires_at <= now, Upload.completed_at.is_(None)).order_by(Upload.expires_at).limit(limit)
            .with_for_update(skip_locked=True)))

    def open_count(self, owner_id: int, now: datetime) -> int:
        return self.session.scalar(select(func.count()).select_from(Upload).where(
            Upload.owner_id == owner_id, Upload.completed_at.is_(None), Upload.expires_at > now)) or 0

    def completed_of_locked(self, owner_id: int, sha256: str) -> str | None:
        """The owner's first completed upload of this hash, locked until commit (so no purge removes it)."""
        return self.session.scalar(select(Upload.id).where(
            Upload.owner_id == owner_id, Upload.sha256 == sha256, Upload.completed_at.is_not(None))
            .order_by(Upload.id).limit(1).with_for_update())

    def unlinked_bytes(self, owner_id: int, now: datetime) -> int:
        """Bytes of the owner's completed uploads no photo of theirs links, and of unfinished unexpired ones."""
        held = or_(and_(Upload.completed_at.is_not(None), ~_linked()),
                   and_(Upload.completed_at.is_(None), Upload.expires_at > now))
        return self.session.scalar(select(func.coalesce(func.sum(Upload.length), 0))
                                   .where(Upload.owner_id == owner_id, held)) or 0

    def unlinked_since_locked(self, before: datetime, keep: set[tuple[int, str]], limit: int) -> list[Upload]:
        """Completed uploads unlinked since `before`, but not those of (owner, sha256) in `keep`; locked, and
        skipping rows locked by a link in progress (PostgreSQL)."""
        stmt = select(Upload).where(Upload.completed_at.is_not(None), Upload.completed_at <= before, ~_linked())
        if keep:
            stmt = stmt.where(tuple_(Upload.owner_id, Upload.sha256).not_in(sorted(keep)))
        return list(self.session.scalars(stmt.order_by(Upload.completed_at).limit(limit)
                                         .with_for_update(skip_locked=True, of=Upload)))

    def any_completed_with(self, sha256: str) -> bool:
        return self.session.scalar(select(Upload.id).where(
            Upload.sha256 == sha256, Upload.completed_at.is_not(None)).limit(1)) is not None


class PhotoRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, photo_id: int) -> Photo | None:
        return self.session.get(Photo, photo_id)

    def by_op_id(self, op_id: str) -> Photo | None:
        return self.session.scalar(select(Photo).where(Photo.op_id == op_id))

    def add(self, photo: Photo) -> Photo:
        self.session.add(photo)
        self.session.flush()
        return photo

    def any_with(self, sha256: str) -> bool:
        return self.session.scalar(select(Photo.id).where(Photo.sha256 == sha256).limit(1)) is not None

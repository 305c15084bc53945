"""Resumable photo uploads (tus) and photos linked to an enquiry as evidence."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, BigId


class Upload(Base):
    """One tus upload. Its `offset` is the truth about what has arrived; the stored part may run ahead of it
    after a crash and is cut back on the next append. Completed rows are kept: they prove who uploaded what."""

    __tablename__ = "uploads"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # uuid4 hex
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    device_id: Mapped[int | None] = mapped_column(BigId)
    length: Mapped[int] = mapped_column(Integer)
    offset: Mapped[int] = mapped_column(Integer, default=0)
    sha256: Mapped[str] = mapped_column(String(64))  # declared by the client, checked on completion
    content_type: Mapped[str] = mapped_column(String(100))
    filename: Mapped[str | None] = mapped_column(String(200))  # a sanitised basename, for people only
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    completed_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_uploads_owner_sha256", "owner_id", "sha256"),)


class Photo(Base):
    """A stored blob linked to an enquiry (append-only evidence)."""

    __tablename__ = "photos"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    enquiry_id: Mapped[int] = mapped_column(ForeignKey("enquiries.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str] = mapped_column(String(100))
    caption: Mapped[str | None] = mapped_column(Text)
    op_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    linked_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    linked_at: Mapped[datetime]

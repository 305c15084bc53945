"""Devices, applied operations, the review queue and what each device may hold."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..domain.devices import DeviceStatus
from .models import Base, BigId


class Device(Base):
    __tablename__ = "devices"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default=DeviceStatus.ACTIVE)
    enrolled_at: Mapped[datetime]
    last_seen_at: Mapped[datetime | None]
    status_changed_at: Mapped[datetime | None]
    status_changed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    offline_ttl_seconds: Mapped[int] = mapped_column(Integer)
    scope_epoch: Mapped[int] = mapped_column(Integer, default=0)  # bumped to make the device resync


class DeviceHolding(Base):
    """A case the server has sent to a device and not yet told it to remove."""

    __tablename__ = "device_holdings"
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)


class AppliedOp(Base):
    """Every op ever received, with its first result: the basis of at-most-once application."""

    __tablename__ = "applied_ops"
    op_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id"), index=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    fingerprint: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[int | None] = mapped_column(BigId)
    status: Mapped[str] = mapped_column(String(20))
    result: Mapped[dict] = mapped_column(JSON)
    received_at: Mapped[datetime]


class ReviewItem(Base):
    """A conflict or a quarantined op waiting for a supervisor. Nothing captured is dropped."""

    __tablename__ = "review_items"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    op_id: Mapped[str] = mapped_column(String(64), index=True)
    device_id: Mapped[int | None] = mapped_column(BigId)
    officer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    case_id: Mapped[int | None] = mapped_column(BigId, index=True)
    category: Mapped[str] = mapped_column(String(20))  # conflict_soft, conflict_hard, quarantined
    reason: Mapped[str | None] = mapped_column(String(40))
    detail: Mapped[str | None] = mapped_column(Text)
    op: Mapped[dict] = mapped_column(JSON)  # the op as received, kept whole
    values: Mapped[dict | None] = mapped_column(JSON)  # hard conflicts: {field: [server, device]}
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolution: Mapped[str | None] = mapped_column(String(20))  # accepted, rejected, picked
    resolution_note: Mapped[str | None] = mapped_column(Text)
    resolved_values: Mapped[dict | None] = mapped_column(JSON)
    open: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (Index("ix_review_items_open", "open", "id"),)

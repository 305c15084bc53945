"""SQLAlchemy 2 typed models of the register. The schema is created by Alembic migrations, never create_all."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from .types import UTCDateTime


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict: JSON, list: JSON}


# BigInteger ids on PostgreSQL, plain INTEGER (rowid alias) on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Case(Base):
    __tablename__ = "cases"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(30), index=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    close_reason: Mapped[str | None] = mapped_column(String(40))
    close_evidence: Mapped[dict | None]
    # the child (§9.3)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    preferred_name: Mapped[str | None] = mapped_column(String(100))
    dob: Mapped[date]
    gender: Mapped[str | None] = mapped_column(String(30))
    ethnicity: Mapped[str | None] = mapped_column(String(60))
    eal: Mapped[bool] = mapped_column(Boolean, default=False)
    upn: Mapped[str | None] = mapped_column(String(13))
    fsm: Mapped[bool] = mapped_column(Boolean, default=False)
    sen_status: Mapped[str] = mapped_column(String(20), default="none")
    ehe_history: Mapped[str | None] = mapped_column(Text)
    cp: Mapped[bool] = mapped_column(Boolean, default=False)
    cin: Mapped[bool] = mapped_column(Boolean, default=False)
    cic: Mapped[bool] = mapped_column(Boolean, default=False)
    social_worker: Mapped[str | None] = mapped_column(String(200))
    other_safeguarding: Mapped[str | None] = mapped_column(Text)
    risk_factors: Mapped[list] = mapped_column(JSON, default=list)
    vulnerable_groups: Mapped[list] = mapped_column(JSON, default=list)
    # where the child is believed to live
    address_line1: Mapped[str | None] = mapped_column(String(200))
    address_line2: Mapped[str | None] = mapped_column(String(200))
    address_town: Mapped[str | None] = mapped_column(String(100))
    address_postcode: Mapped[str | None] = mapped_column(String(10))
    contact_phone: Mapped[str | None] = mapped_column(String(30))
    contact_email: Mapped[str | None] = mapped_column(String(200))
    # last school and the dates the deadlines run from
    last_school_name: Mapped[str | None] = mapped_column(String(200))
    last_school_urn: Mapped[str | None] = mapped_column(String(10))
    on_roll_date: Mapped[date | None]
    off_roll_date: Mapped[date | None]
    first_day_of_absence: Mapped[date | None]
    referral_accepted_on: Mapped[date | None]
    place_offered_on: Mapped[date | None]
    place_accepted_on: Mapped[date | None]
    exclusion_start: Mapped[date | None]
    transfer_destination: Mapped[str | None] = mapped_column(String(200))

    carers: Mapped[list[Carer]] = relationship(back_populates="case", order_by="Carer.id",
                                               cascade="all, delete-orphan")
    siblings: Mapped[list[Sibling]] = relationship(order_by="Sibling.id", cascade="all, delete-orphan")
    addresses: Mapped[list[AddressHistory]] = relationship(order_by="AddressHistory.id",
                                                           cascade="all, delete-orphan")

    # The child rows, made for the case aggregate (server.domain.case.CaseRecord).
    def new_carer(self, name: str) -> Carer:
        return Carer(name=name)

    def replace_carers(self, carers: list[Carer]) -> None:
        self.carers = carers

    def replace_siblings(self, siblings: list[dict]) -> None:
        self.siblings = [Sibling(name=s["name"], dob=s.get("dob"), school=s.get("school")) for s in siblings]

    def record_past_address(self, address: dict, to_date: date, source: str) -> None:
        self.addresses.append(AddressHistory(line1=address["line1"], line2=address.get("line2"),
                                             town=address.get("town"), postcode=address.get("postcode"),
                                             to_date=to_date, source=source))


class Carer(Base):
    __tablename__ = "carers"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    relationship_to_child: Mapped[str | None] = mapped_column(String(60))
    parental_responsibility: Mapped[bool] = mapped_column(Boolean, default=False)
    phone: Mapped[str | None] = mapped_column(String(30))
    email: Mapped[str | None] = mapped_column(String(200))
    case: Mapped[Case] = relationship(back_populates="carers")


class Sibling(Base):
    __tablename__ = "siblings"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    dob: Mapped[date | None]
    school: Mapped[str | None] = mapped_column(String(200))


class AddressHistory(Base):
    __tablename__ = "address_history"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    line1: Mapped[str] = mapped_column(String(200))
    line2: Mapped[str | None] = mapped_column(String(200))
    town: Mapped[str | None] = mapped_column(String(100))
    postcode: Mapped[str | None] = mapped_column(String(10))
    from_date: Mapped[date | None]
    to_date: Mapped[date | None]
    source: Mapped[str | None] = mapped_column(String(60))


class Referral(Base):
    __tablename__ = "referrals"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    source: Mapped[str] = mapped_column(String(40))
    route: Mapped[str] = mapped_column(String(20))
    situation: Mapped[str] = mapped_column(String(40))
    received_at: Mapped[datetime]
    referrer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    referrer_name: Mapped[str | None] = mapped_column(String(200))
    referrer_contact: Mapped[str | None] = mapped_column(String(200))
    details: Mapped[str | None] = mapped_column(Text)
    # What the referrer is given: random (CME-XXXX-XXXX), so it reveals neither the case id nor how many came before.
    receipt: Mapped[str] = mapped_column(String(16), unique=True)


class Enquiry(Base):
    """An append-only fact: a home visit, an address check, a partner check or a letter."""

    __tablename__ = "enquiries"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    occurred_at: Mapped[datetime]  # device or officer time
    recorded_at: Mapped[datetime]  # server time
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    device_id: Mapped[int | None] = mapped_column(BigId)
    op_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    outcome: Mapped[str | None] = mapped_column(String(40))
    source: Mapped[str | None] = mapped_column(String(40))
    notes: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    safeguarding_concern: Mapped[bool] = mapped_column(Boolean, default=False)
    flagged: Mapped[str | None] = mapped_column(String(40))  # e.g. arrived after closure


class Action(Base):
    """An alert or a task raised by a trigger, acknowledged by someone at some time."""

    __tablename__ = "actions"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # None for an alert about no one case (a device enrolled); supervisors see those, officers do not.
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    category: Mapped[str] = mapped_column(String(10))
    code: Mapped[str] = mapped_column(String(60))
    title: Mapped[str] = mapped_column(String(200))
    policy_ref: Mapped[str] = mapped_column(String(30))
    raised_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(Text)


class Assignment(Base):
    __tablename__ = "assignments"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    assigned_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    due: Mapped[date | None]
    instructions: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    ended_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    acknowledged_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_assignments_open", "officer_id", "ended_at"),)


class CaseChange(Base):
    """The append-only change log: one row per case version, numbered in commit order (DESIGN.md principle 5)."""

    __tablename__ = "case_changes"
    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime]
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(40))
    fields: Mapped[list] = mapped_column(JSON, default=list)

    __table_args__ = (Index("ix_case_changes_case_version", "case_id", "version", unique=True),)


class TermDate(Base):
    __tablename__ = "term_dates"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    academic_year: Mapped[str] = mapped_column(String(7), index=True)
    name: Mapped[str] = mapped_column(String(60))
    start: Mapped[date]
    end: Mapped[date]


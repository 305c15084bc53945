"""Sync storage: the record of applied ops, devices, what each device holds, and the review queue."""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, selectinload

from ...domain.devices import DeviceStatus
from ..access_models import ApiToken, User
from ..models import Assignment, Case, Enquiry
from ..storable import storable
from ..sync_models import AppliedOp, Device, DeviceHolding, ReviewItem


class AppliedOps:
    """Each pushed op's first result, by op id. A batch's ids are read in one query (`prefetch`)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._known: dict[str, AppliedOp | None] = {}

    def prefetch(self, op_ids: Iterable[str]) -> None:
        ids = {i for i in op_ids if isinstance(i, str) and i and storable(i, 64) == i}  # others: never stored
        found = {r.op_id: r for r in self.session.scalars(select(AppliedOp).where(AppliedOp.op_id.in_(ids)))}
        self._known.update({i: found.get(i) for i in ids})

    def get(self, op_id: str, *, fresh: bool = False) -> AppliedOp | None:
        """`fresh` asks the database again: another request may have recorded the op since the prefetch."""
        if not fresh and op_id in self._known:
            return self._known[op_id]
        self._known.pop(op_id, None)
        return self.session.get(AppliedOp, op_id)

    def add(self, applied: AppliedOp) -> None:
        self.session.add(applied)
        self.session.flush()  # a duplicate delivery racing this one fails here, inside the op's savepoint
        self._known[applied.op_id] = applied

    def forget(self, op_id: str) -> None:
        """The op's savepoint rolled back: whatever was cached for it may be wrong now."""
        self._known.pop(op_id, None)

    def edit_results(self, device_id: int, case_id: int, kind: str, statuses: Iterable[str]) -> list[dict]:
        return list(self.session.scalars(select(AppliedOp.result).where(
            AppliedOp.device_id == device_id, AppliedOp.case_id == case_id, AppliedOp.kind == kind,
            AppliedOp.status.in_(list(statuses)))))


class Devices:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, device_id: int) -> Device | None:
        return self.session.get(Device, device_id)

    def add(self, device: Device) -> Device:
        self.session.add(device)
        self.session.flush()
        return device

    def active_count_locked(self, officer_id: int) -> int:
        """The officer's active devices, after locking the officer's row: enrolments of one officer are then
        serialised (PostgreSQL), so two at once cannot both pass the cap."""
        self.session.scalar(select(User.id).where(User.id == officer_id).with_for_update())
        return self.session.scalar(select(func.count()).select_from(Device).where(
            Device.officer_id == officer_id, Device.status == DeviceStatus.ACTIVE)) or 0

    def listing(self, officer_id: int | None = None) -> list[Device]:
        stmt = select(Device).order_by(Device.id)
        if officer_id is not None:
            stmt = stmt.where(Device.officer_id == officer_id)
        return list(self.session.scalars(stmt))

    def revoke_tokens(self, device_id: int, at) -> None:
        self.session.execute(update(ApiToken).where(ApiToken.device_id == device_id, ApiToken.revoked_at.is_(None))
                             .values(revoked_at=at))


class Holdings:
    """What each device may hold: read in one query, written in one statement per page."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def of_device(self, device_id: int) -> dict[int, int]:
        return dict(self.session.execute(select(DeviceHolding.case_id, DeviceHolding.version)
                                         .where(DeviceHolding.device_id == device_id)).all())

    def record(self, device_id: int, sent: list[tuple[int, int]]) -> None:
        """Insert or update the holdings of the cases just sent, in one statement (an upsert)."""
        if not sent:
            return
        dialect = self.session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        stmt = insert(DeviceHolding).values([{"device_id": device_id, "case_id": c, "version": v}
                                             for c, v in sent])
        stmt = stmt.on_conflict_do_update(index_elements=["device_id", "case_id"],
                                          set_={"version": stmt.excluded.version})
        self.session.execute(stmt)

    def forget(self, device_id: int, case_ids: list[int] | None = None) -> None:
        """Forget the given cases, or (None) everything the device holds."""
        stmt = delete(DeviceHolding).where(DeviceHolding.device_id == device_id)
        if case_ids is not None:
            stmt = stmt.where(DeviceHolding.case_id.in_(case_ids))
        self.session.execute(stmt, execution_options={"synchronize_session": False})


class ReviewItems:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, item: ReviewItem) -> ReviewItem:
        self.session.add(item)
        return item

    def get(self, item_id: int) -> ReviewItem | None:
        return self.session.get(ReviewItem, item_id)

    def listing(self, *, open_only: bool, case_id: int | None) -> list[ReviewItem]:
        stmt = select(ReviewItem).order_by(ReviewItem.id)
        if open_only:
            stmt = stmt.where(ReviewItem.open.is_(True))
        if case_id is not None:
            stmt = stmt.where(ReviewItem.case_id == case_id)
        return list(self.session.scalars(stmt))


class SnapshotReads:
    """What a page of snapshots needs, in one query each: the cases with their carers, their enquiries."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def cases_with_carers(self, case_ids: list[int]) -> dict[int, Case]:
        return {c.id: c for c in self.session.scalars(select(Case).where(Case.id.in_(case_ids))
                                                      .options(selectinload(Case.carers)))}

    def assignments_of(self, officer_id: int, case_ids: list[int]) -> dict[int, Assignment]:
        """The officer's open assignment of each case (the newest when a case has several)."""
        if not case_ids:
            return {}
        rows = self.session.scalars(select(Assignment).where(
            Assignment.officer_id == officer_id, Assignment.ended_at.is_(None), Assignment.case_id.in_(case_ids))
            .order_by(Assignment.id))
        return {a.case_id: a for a in rows}

    def enquiries_newest_first(self, case_ids: list[int]) -> list[Enquiry]:
        return list(self.session.scalars(select(Enquiry).where(Enquiry.case_id.in_(case_ids))
                                         .order_by(Enquiry.case_id, Enquiry.occurred_at.desc(), Enquiry.id.desc())))

"""Cases: load one (optionally locked for update), add one, and the register's listing queries."""
from __future__ import annotations

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from ..models import Case, Referral


class CaseRepository:
    def __init__(self, session: Session) -> None:
        self.session = session
        self._locked: dict[int, Case] = {}  # by `lock_many`: held to the end of the transaction
        self._first_referral: dict[int, object] = {}  # by `prefetch_first_referrals`, for a push batch

    def get(self, case_id: int, *, for_update: bool = False) -> Case | None:
        """`for_update` serialises concurrent writers of one case (a no-op on SQLite, which locks the database)."""
        if for_update and case_id in self._locked:
            return self._locked[case_id]  # already locked in this transaction: no second SELECT ... FOR UPDATE
        stmt = select(Case).where(Case.id == case_id)
        return self.session.scalar(stmt.with_for_update() if for_update else stmt)

    def lock_many(self, case_ids: set[int]) -> dict[int, Case]:
        """Lock the cases a batch will write, in id order (two batches never wait on each other in a cycle), once.
        Call it outside savepoints: a lock taken inside one that rolls back is released on PostgreSQL."""
        wanted = set(case_ids) - set(self._locked)
        if wanted:
            stmt = select(Case).where(Case.id.in_(wanted)).order_by(Case.id).with_for_update()
            self._locked.update({c.id: c for c in self.session.scalars(stmt)})
        return {cid: self._locked[cid] for cid in case_ids if cid in self._locked}

    def many(self, case_ids: list[int]) -> list[Case]:
        return list(self.session.scalars(select(Case).where(Case.id.in_(case_ids)).order_by(Case.id)))

    def add(self, case: Case) -> Case:
        self.session.add(case)
        self.session.flush()  # the id names the case in its change log and references
        return case

    def first_referral_received(self, case_id: int):
        if case_id in self._first_referral:
            return self._first_referral[case_id]
        return self.session.scalar(select(func.min(Referral.received_at)).where(Referral.case_id == case_id))

    def prefetch_first_referrals(self, case_ids: set[int]) -> None:
        """One query for a push batch's cases instead of one per op (no op adds a referral)."""
        rows = self.session.execute(select(Referral.case_id, func.min(Referral.received_at))
                                    .where(Referral.case_id.in_(case_ids)).group_by(Referral.case_id))
        self._first_referral.update({cid: None for cid in case_ids})
        self._first_referral.update({cid: received for cid, received in rows})

    def _listing(self, status: str | None, reference: str | None, within: set[int] | None) -> Select:
        stmt = select(Case).order_by(Case.id)
        if within is not None:
            stmt = stmt.where(Case.id.in_(within))
        if status:
            stmt = stmt.where(Case.status == status)
        if reference:
            stmt = stmt.where(Case.reference == reference)
        return stmt

    def count(self, *, status: str | None = None, reference: str | None = None,
              within: set[int] | None = None) -> int:
        """How many cases match (`within`: only these ids, an officer's caseload say)."""
        stmt = self._listing(status, reference, within)
        return self.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0

    def find(self, *, status: str | None = None, reference: str | None = None, within: set[int] | None = None,
             offset: int = 0, limit: int | None = None) -> list[Case]:
        """The matching cases in id order, optionally one page of them."""
        stmt = self._listing(status, reference, within).offset(offset)
        return list(self.session.scalars(stmt if limit is None else stmt.limit(limit)))

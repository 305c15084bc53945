"""Cases: load one (optionally locked for update), add one, and the register's listing queries."""
from __future__ import annotations

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from ..models import Case, Referral


class CaseRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, case_id: int, *, for_update: bool = False) -> Case | None:
        """`for_update` serialises concurrent writers of one case (a no-op on SQLite, which locks the database)."""
        stmt = select(Case).where(Case.id == case_id)
        return self.session.scalar(stmt.with_for_update() if for_update else stmt)

    def many(self, case_ids: list[int]) -> list[Case]:
        return list(self.session.scalars(select(Case).where(Case.id.in_(case_ids)).order_by(Case.id)))

    def add(self, case: Case) -> Case:
        self.session.add(case)
        self.session.flush()  # the id names the case in its change log and references
        return case

    def first_referral_received(self, case_id: int):
        return self.session.scalar(select(func.min(Referral.received_at)).where(Referral.case_id == case_id))

    def query(self, *, status: str | None = None, reference: str | None = None,
              within: set[int] | None = None) -> Select:
        stmt = select(Case).order_by(Case.id)
        if within is not None:
            stmt = stmt.where(Case.id.in_(within))
        if status:
            stmt = stmt.where(Case.status == status)
        if reference:
            stmt = stmt.where(Case.reference == reference)
        return stmt

    def count(self, stmt: Select) -> int:
        return self.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0

    def page(self, stmt: Select, offset: int, limit: int) -> list[Case]:
        return list(self.session.scalars(stmt.offset(offset).limit(limit)))

    def all(self, stmt: Select) -> list[Case]:
        return list(self.session.scalars(stmt))

"""The append-only audit log: written by every read and write of case data, read by those who may audit."""
from __future__ import annotations

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from ..access_models import AuditEntry


class AuditLog:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, entry: AuditEntry) -> None:
        self.session.add(entry)

    def _matching(self, case_id: int | None, actor_id: int | None, action: str | None) -> Select:
        stmt = select(AuditEntry).order_by(AuditEntry.id)
        if case_id is not None:
            stmt = stmt.where(AuditEntry.case_id == case_id)
        if actor_id is not None:
            stmt = stmt.where(AuditEntry.actor_id == actor_id)
        if action is not None:
            stmt = stmt.where(AuditEntry.action == action)
        return stmt

    def count(self, *, case_id: int | None = None, actor_id: int | None = None, action: str | None = None) -> int:
        stmt = self._matching(case_id, actor_id, action)
        return self.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0

    def page(self, offset: int, limit: int, *, case_id: int | None = None, actor_id: int | None = None,
             action: str | None = None) -> list[AuditEntry]:
        return list(self.session.scalars(self._matching(case_id, actor_id, action).offset(offset).limit(limit)))

"""The append-only change log: one row per case version, numbered in commit order (DESIGN.md principle 5)."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from ..db import CHANGE_LOG_LOCK_KEY
from ..models import CaseChange


class ChangeLog:
    def __init__(self, session: Session) -> None:
        self.session = session

    def append(self, case_id: int, version: int, at: datetime, actor_id: int | None, kind: str,
               fields: Iterable[str]) -> CaseChange:
        self.lock()
        change = CaseChange(case_id=case_id, version=version, at=at, actor_id=actor_id, kind=kind,
                            fields=sorted(set(fields)))
        self.session.add(change)
        self.session.flush()
        return change

    def lock(self) -> None:
        """Hold the change-log lock until commit so change numbers are handed out in commit order (PostgreSQL).
        SQLite already serialises writers (BEGIN IMMEDIATE), so it needs nothing more."""
        if self.session.get_bind().dialect.name == "postgresql":
            self.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": CHANGE_LOG_LOCK_KEY})

    def since(self, case_id: int, version: int) -> list[tuple[int, str, int | None, list]]:
        """(version, kind, actor_id, fields) of the case's changes after `version`, oldest first."""
        return list(self.session.execute(
            select(CaseChange.version, CaseChange.kind, CaseChange.actor_id, CaseChange.fields)
            .where(CaseChange.case_id == case_id, CaseChange.version > version).order_by(CaseChange.version)))

    def top(self) -> int:
        return self.session.scalar(select(CaseChange.seq).order_by(CaseChange.seq.desc()).limit(1)) or 0

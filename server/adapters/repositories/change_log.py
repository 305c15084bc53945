"""The append-only change log: one row per case version, numbered in commit order (DESIGN.md principle 5).

Rows are queued in the unit of work and written at its commit, under the change-log lock (`write_queued`): the
lock that hands out change numbers in commit order is then held only for that one insert and the commit, not from
the first write of a long transaction (a push batch) to its end.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from ..db import CHANGE_LOG_LOCK_KEY
from ..models import Assignment, CaseChange


class ChangeLog:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.queued: list[dict] = []

    def append(self, case_id: int, version: int, at: datetime, actor_id: int | None, kind: str,
               fields: Iterable[str]) -> dict:
        """Queue a change; it is written when the unit of work commits (and dropped if it rolls back)."""
        row = {"case_id": case_id, "version": version, "at": at, "actor_id": actor_id, "kind": kind,
               "fields": sorted(set(fields))}
        self.queued.append(row)
        return row

    def mark(self) -> int:
        """Where the queue stands, so a savepoint that rolls back can drop what it queued (`drop_after`)."""
        return len(self.queued)

    def drop_after(self, mark: int) -> None:
        del self.queued[mark:]

    def write_queued(self) -> None:
        """Take the lock, then insert every queued row in one statement; the caller commits straight after."""
        if not self.queued:
            return
        self.session.flush()  # everything else first, so the lock is held only for this insert and the commit
        self.lock()
        self.session.execute(insert(CaseChange), self.queued)
        self.queued = []

    def lock(self) -> None:
        """Hold the change-log lock until commit so change numbers are handed out in commit order (PostgreSQL).
        SQLite already serialises writers (BEGIN IMMEDIATE), so it needs nothing more."""
        if self.session.get_bind().dialect.name == "postgresql":
            self.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": CHANGE_LOG_LOCK_KEY})

    def since(self, case_id: int, version: int) -> list[tuple[int, str, int | None, list]]:
        """(version, kind, actor_id, fields) of the case's changes after `version`, oldest first, queued ones
        included (this transaction's own writes)."""
        stored = list(self.session.execute(
            select(CaseChange.version, CaseChange.kind, CaseChange.actor_id, CaseChange.fields)
            .where(CaseChange.case_id == case_id, CaseChange.version > version).order_by(CaseChange.version)))
        queued = [(r["version"], r["kind"], r["actor_id"], r["fields"]) for r in self.queued
                  if r["case_id"] == case_id and r["version"] > version]
        return [tuple(r) for r in stored] + queued

    def top(self) -> int:
        return self.session.scalar(select(CaseChange.seq).order_by(CaseChange.seq.desc()).limit(1)) or 0

    def latest_in_caseload(self, after: int, officer_id: int, limit: int) -> list[tuple[int, int]]:
        """(case id, its latest change number) of the officer's open cases changed after `after`, oldest latest
        first (the caseload as a subquery: a few hundred ids need not travel as parameters)."""
        latest = func.max(CaseChange.seq)
        caseload = select(Assignment.case_id).where(Assignment.officer_id == officer_id,
                                                    Assignment.ended_at.is_(None))
        return [tuple(r) for r in self.session.execute(
            select(CaseChange.case_id, latest).where(CaseChange.seq > after, CaseChange.case_id.in_(caseload))
            .group_by(CaseChange.case_id).order_by(latest).limit(limit))]

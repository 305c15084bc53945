"""Assignments: who is to visit which case. "The open assignments of an officer" is asked here, once."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Assignment

_OPEN = Assignment.ended_at.is_(None)


class AssignmentRepository:
    def __init__(self, session: Session) -> None:
        self.session = session
        self._vouched: set[tuple[int, int]] = set()  # (officer, case) known open while the case is locked

    def vouch(self, officer_id: int, case_ids: set[int]) -> None:
        """Remember open assignments read while their cases are locked (`CaseRepository.lock_many`): ending an
        assignment locks its case first, so they stay open until this transaction ends."""
        self._vouched |= {(officer_id, cid) for cid in case_ids}

    def get(self, assignment_id: int) -> Assignment | None:
        return self.session.get(Assignment, assignment_id)

    def add(self, assignment: Assignment) -> Assignment:
        self.session.add(assignment)
        self.session.flush()
        return assignment

    def open_for_officer(self, officer_id: int) -> list[Assignment]:
        return list(self.session.scalars(select(Assignment).where(Assignment.officer_id == officer_id, _OPEN)
                                         .order_by(Assignment.id)))

    def open_case_ids(self, officer_id: int) -> set[int]:
        return set(self.session.scalars(select(Assignment.case_id).where(Assignment.officer_id == officer_id,
                                                                          _OPEN)))

    def open_for_case(self, case_id: int) -> list[Assignment]:
        return list(self.session.scalars(select(Assignment).where(Assignment.case_id == case_id, _OPEN)
                                         .order_by(Assignment.id)))

    def is_assigned(self, officer_id: int, case_id: int) -> bool:
        if (officer_id, case_id) in self._vouched:
            return True
        return self.session.scalar(select(Assignment.id).where(
            Assignment.case_id == case_id, Assignment.officer_id == officer_id, _OPEN).limit(1)) is not None

    def listing(self, *, case_id: int | None = None, officer_id: int | None = None,
                open_only: bool = False) -> list[Assignment]:
        stmt = select(Assignment).order_by(Assignment.id)
        if case_id is not None:
            stmt = stmt.where(Assignment.case_id == case_id)
        if officer_id is not None:
            stmt = stmt.where(Assignment.officer_id == officer_id)
        if open_only:
            stmt = stmt.where(_OPEN)
        return list(self.session.scalars(stmt))

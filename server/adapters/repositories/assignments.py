"""Assignments: who is to visit which case. "The open assignments of an officer" is asked here, once."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Assignment

_OPEN = Assignment.ended_at.is_(None)


class AssignmentRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

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

"""A supervisor assigns a visit on a case to an officer; open assignments are an officer's scope."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..adapters.access_models import User
from ..adapters.models import Assignment, Case
from ..domain.case import is_closed
from ..domain.access import Actor, Permission, require
from ..domain.errors import Conflict, InvalidInput, NotFound
from ..domain.vocabulary import Role
from . import audit, changes
from .clock import utcnow
from .presenters import assignment_view


def _officer(session: Session, officer_id: int) -> User:
    user = session.get(User, officer_id)
    if user is None or user.role != Role.OFFICER.value or not user.active:
        raise InvalidInput(f"user {officer_id} is not an active officer", field="officer_id")
    return user


def _case_for_update(session: Session, case_id: int) -> Case:
    case = session.scalar(select(Case).where(Case.id == case_id).with_for_update())
    if case is None:
        raise InvalidInput(f"no case {case_id}", field="case_id")
    return case


def assign(session: Session, actor: Actor, case_id: int, officer_id: int, due: date | None,
           instructions: str | None) -> dict:
    require(actor, Permission.MANAGE_ASSIGNMENTS)
    case = _case_for_update(session, case_id)
    a = _new_assignment(session, actor, case, officer_id, due, instructions)
    # The case's version moves so devices learn of the assignment on their next pull (scope change).
    changes.bump(session, case, actor, "assigned", ["assignments"])
    audit.record(session, actor, "assignment.create", case.id)
    return assignment_view(a)


def _new_assignment(session: Session, actor: Actor, case: Case, officer_id: int, due: date | None,
                    instructions: str | None) -> Assignment:
    if is_closed(case):
        raise Conflict("the case is closed; reopen it before assigning a visit", field="case_id")
    _officer(session, officer_id)
    a = Assignment(case_id=case.id, officer_id=officer_id, assigned_by=actor.user_id, due=due,
                   instructions=instructions, created_at=utcnow())
    session.add(a)
    session.flush()
    return a


def _open_assignment(session: Session, assignment_id: int) -> Assignment:
    a = session.get(Assignment, assignment_id)
    if a is None:
        raise NotFound(f"no assignment {assignment_id}")
    if a.ended_at is not None:
        raise Conflict("the assignment has already ended", field="assignment_id")
    return a


def end(session: Session, actor: Actor, assignment_id: int) -> dict:
    require(actor, Permission.MANAGE_ASSIGNMENTS)
    a = _open_assignment(session, assignment_id)
    a.ended_at, a.ended_by = utcnow(), actor.user_id
    changes.bump(session, _case_for_update(session, a.case_id), actor, "unassigned", ["assignments"])
    audit.record(session, actor, "assignment.end", a.case_id)
    return assignment_view(a)


def reassign(session: Session, actor: Actor, assignment_id: int, officer_id: int, due: date | None,
             instructions: str | None) -> dict:
    """End the assignment and give the visit to another officer, keeping due date and instructions if unset."""
    require(actor, Permission.MANAGE_ASSIGNMENTS)
    old = _open_assignment(session, assignment_id)
    case = _case_for_update(session, old.case_id)
    old.ended_at, old.ended_by = utcnow(), actor.user_id
    new = _new_assignment(session, actor, case, officer_id, due or old.due,
                          instructions if instructions is not None else old.instructions)
    # One write, one version: devices of both officers see the scope change on their next pull.
    changes.bump(session, case, actor, "reassigned", ["assignments"])
    audit.record(session, actor, "assignment.end", case.id)
    audit.record(session, actor, "assignment.create", case.id)
    return assignment_view(new)


def list_assignments(session: Session, actor: Actor, *, officer_id: int | None = None,
                     case_id: int | None = None, open_only: bool = True) -> list[dict]:
    require(actor, Permission.READ_ASSIGNMENTS)
    if actor.role == Role.OFFICER:
        officer_id = actor.user_id  # officers see their own
    stmt = select(Assignment).order_by(Assignment.id)
    if officer_id is not None:
        stmt = stmt.where(Assignment.officer_id == officer_id)
    if case_id is not None:
        stmt = stmt.where(Assignment.case_id == case_id)
    if open_only:
        stmt = stmt.where(Assignment.ended_at.is_(None))
    rows = list(session.scalars(stmt))
    audit.record_many(session, actor, "assignment.list", sorted({a.case_id for a in rows}))
    return [assignment_view(a) for a in rows]

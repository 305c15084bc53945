"""A supervisor assigns a visit on a case to an officer; open assignments are an officer's scope."""
from __future__ import annotations

from datetime import date

from ..adapters.access_models import User
from ..adapters.models import Assignment, Case
from ..domain.case import is_closed
from ..domain.access import Actor, Permission, require
from ..domain.errors import Conflict, InvalidInput, NotFound
from ..domain.vocabulary import Role
from . import audit, changes
from .clock import utcnow
from .presenters import assignment_view


def _officer(uow, officer_id: int) -> User:
    user = uow.accounts.get(officer_id)
    if user is None or user.role != Role.OFFICER.value or not user.active:
        raise InvalidInput(f"user {officer_id} is not an active officer", field="officer_id")
    return user


def _case_for_update(uow, case_id: int) -> Case:
    case = uow.cases.get(case_id, for_update=True)
    if case is None:
        raise InvalidInput(f"no case {case_id}", field="case_id")
    return case


def assign(uow, actor: Actor, case_id: int, officer_id: int, due: date | None,
           instructions: str | None) -> dict:
    require(actor, Permission.MANAGE_ASSIGNMENTS)
    case = _case_for_update(uow, case_id)
    a = _new_assignment(uow, actor, case, officer_id, due, instructions)
    # The case's version moves so devices learn of the assignment on their next pull (scope change).
    changes.bump(uow, case, actor, "assigned", ["assignments"])
    audit.record(uow, actor, "assignment.create", case.id)
    return assignment_view(a)


def _new_assignment(uow, actor: Actor, case: Case, officer_id: int, due: date | None,
                    instructions: str | None) -> Assignment:
    if is_closed(case):
        raise Conflict("the case is closed; reopen it before assigning a visit", field="case_id")
    _officer(uow, officer_id)
    return uow.assignments.add(Assignment(case_id=case.id, officer_id=officer_id, assigned_by=actor.user_id,
                                          due=due, instructions=instructions, created_at=utcnow()))


def _open_assignment(uow, assignment_id: int) -> Assignment:
    a = uow.assignments.get(assignment_id)
    if a is None:
        raise NotFound(f"no assignment {assignment_id}")
    if a.ended_at is not None:
        raise Conflict("the assignment has already ended", field="assignment_id")
    return a


def end(uow, actor: Actor, assignment_id: int) -> dict:
    require(actor, Permission.MANAGE_ASSIGNMENTS)
    a = _open_assignment(uow, assignment_id)
    a.ended_at, a.ended_by = utcnow(), actor.user_id
    changes.bump(uow, _case_for_update(uow, a.case_id), actor, "unassigned", ["assignments"])
    audit.record(uow, actor, "assignment.end", a.case_id)
    return assignment_view(a)


def reassign(uow, actor: Actor, assignment_id: int, officer_id: int, due: date | None,
             instructions: str | None) -> dict:
    """End the assignment and give the visit to another officer, keeping due date and instructions if unset."""
    require(actor, Permission.MANAGE_ASSIGNMENTS)
    old = _open_assignment(uow, assignment_id)
    case = _case_for_update(uow, old.case_id)
    old.ended_at, old.ended_by = utcnow(), actor.user_id
    new = _new_assignment(uow, actor, case, officer_id, due or old.due,
                          instructions if instructions is not None else old.instructions)
    # One write, one version: devices of both officers see the scope change on their next pull.
    changes.bump(uow, case, actor, "reassigned", ["assignments"])
    audit.record(uow, actor, "assignment.end", case.id)
    audit.record(uow, actor, "assignment.create", case.id)
    return assignment_view(new)


def list_assignments(uow, actor: Actor, *, officer_id: int | None = None,
                     case_id: int | None = None, open_only: bool = True) -> list[dict]:
    require(actor, Permission.READ_ASSIGNMENTS)
    if actor.role == Role.OFFICER:
        officer_id = actor.user_id  # officers see their own
    rows = uow.assignments.listing(case_id=case_id, officer_id=officer_id, open_only=open_only)
    audit.record_many(uow, actor, "assignment.list", sorted({a.case_id for a in rows}))
    return [assignment_view(a) for a in rows]

"""Alerts and tasks raised by triggers: listed and acknowledged, with who and when."""
from __future__ import annotations

from ..adapters.models import Action, Case
from ..domain.access import Actor, Permission, require, sees_whole_register
from ..domain.errors import Conflict, NotFound
from ..domain.triggers import Trigger
from . import audit
from .access import CaseHidden, may_see
from .clock import utcnow
from .presenters import action_view


def raise_triggers(uow, case: Case, triggers: list[Trigger]) -> None:
    now = utcnow()
    for t in triggers:
        uow.actions.add(Action(case_id=case.id, category=t.category.value, code=t.code, title=t.title,
                               policy_ref=t.policy_ref, raised_at=now))


def list_actions(uow, actor: Actor, *, case_id: int | None = None,
                 open_only: bool = False, category: str | None = None) -> list[dict]:
    require(actor, Permission.HANDLE_ACTIONS)
    case_ids: set[int] | None = None  # None: the whole register's, alerts about no one case included
    if case_id is not None:
        if not may_see(uow, actor, case_id):
            raise CaseHidden(case_id)
        case_ids = {case_id}
    elif not sees_whole_register(actor):
        case_ids = uow.assignments.open_case_ids(actor.user_id)
    rows = uow.actions.listing(case_ids=case_ids, open_only=open_only, category=category)
    audit.record_many(uow, actor, "action.list", sorted({a.case_id for a in rows if a.case_id is not None}))
    return [action_view(a) for a in rows]


def acknowledge(uow, actor: Actor, action_id: int, note: str | None) -> dict:
    require(actor, Permission.HANDLE_ACTIONS)
    action = uow.actions.get(action_id)
    # An alert about no one case (a device enrolled) is for those who see the whole register.
    if action is None or (action.case_id is None and not sees_whole_register(actor)):
        raise NotFound(f"no alert or task {action_id}")
    if action.case_id is not None and not may_see(uow, actor, action.case_id):
        raise CaseHidden(action.case_id, f"no alert or task {action_id}")
    if action.acknowledged_at is not None:
        raise Conflict("already acknowledged", field="action_id")
    action.acknowledged_at = utcnow()
    action.acknowledged_by = actor.user_id
    action.note = note
    audit.record(uow, actor, "action.acknowledge", action.case_id)
    return action_view(action)

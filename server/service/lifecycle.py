"""Moving a case through its lifecycle; the domain decides, this records and raises what it triggers."""
from __future__ import annotations

from ..domain.access import Actor, Permission
from ..domain import case as case_aggregate
from ..domain.lifecycle import TransitionRequest
from . import audit, changes
from .access import load_case
from .actions import raise_triggers
from .cases import build_view, check_version
from .clock import today, utcnow


def _end_assignments(uow, actor: Actor, case_id: int) -> list[str]:
    """A closed case needs no more visits: its open assignments end, so it leaves officers' devices."""
    open_ones = uow.assignments.open_for_case(case_id)
    for a in open_ones:
        a.ended_at, a.ended_by = utcnow(), actor.user_id
    return ["assignments"] if open_ones else []


def transition(uow, actor: Actor, case_id: int, if_match: int | None, request: TransitionRequest) -> dict:
    case = load_case(uow, actor, case_id, Permission.TRANSITION_CASE, for_update=True)
    if if_match is not None:
        check_version(case, if_match)
    moved = case_aggregate.transition(case, request, today(), utcnow())
    fields = moved.fields + (_end_assignments(uow, actor, case.id) if moved.ends_assignments else [])
    changes.bump(uow, case, actor, moved.kind, fields)
    raise_triggers(uow, case, moved.triggers)
    audit.record(uow, actor, "case.transition", case.id)
    return build_view(uow, case)

"""Moving a case through its lifecycle; the domain decides, this records and raises what it triggers."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..adapters.models import Assignment
from ..domain.access import Actor, Permission
from ..domain import case as case_aggregate
from ..domain.lifecycle import TransitionRequest
from . import audit, changes
from .access import load_case
from .actions import raise_triggers
from .cases import build_view, check_version
from .clock import today, utcnow


def _end_assignments(session: Session, actor: Actor, case_id: int) -> list[str]:
    """A closed case needs no more visits: its open assignments end, so it leaves officers' devices."""
    open_ones = list(session.scalars(select(Assignment).where(Assignment.case_id == case_id,
                                                              Assignment.ended_at.is_(None))))
    for a in open_ones:
        a.ended_at, a.ended_by = utcnow(), actor.user_id
    return ["assignments"] if open_ones else []


def transition(session: Session, actor: Actor, case_id: int, if_match: int | None,
               request: TransitionRequest) -> dict:
    case = load_case(session, actor, case_id, Permission.TRANSITION_CASE, for_update=True)
    if if_match is not None:
        check_version(case, if_match)
    moved = case_aggregate.transition(case, request, today(), utcnow())
    fields = moved.fields + (_end_assignments(session, actor, case.id) if moved.ends_assignments else [])
    changes.bump(session, case, actor, moved.kind, fields)
    raise_triggers(session, case, moved.triggers)
    audit.record(session, actor, "case.transition", case.id)
    return build_view(session, case)

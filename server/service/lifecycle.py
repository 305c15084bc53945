"""Moving a case through its lifecycle; the domain decides, this records and raises what it triggers."""
from __future__ import annotations

from dataclasses import asdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..adapters.models import Assignment
from ..domain.access import Actor, Permission
from ..domain.lifecycle import CaseFacts, CaseStatus, TransitionRequest, check_transition
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
    facts = CaseFacts(status=CaseStatus(case.status), dob=case.dob, cp=case.cp, cin=case.cin)
    triggers = check_transition(facts, request, today())
    previous = case.status
    case.status = request.target.value
    fields = ["status"]
    if request.target == CaseStatus.CLOSED:
        fields += _end_assignments(session, actor, case.id)
        case.closed_at = utcnow()
        case.close_reason = request.closure.reason.value
        case.close_evidence = {k: (v.isoformat() if hasattr(v, "isoformat") else v)
                               for k, v in asdict(request.closure).items() if v is not None}
        fields += ["closed_at", "close_reason"]
    elif previous == CaseStatus.CLOSED.value:
        case.closed_at = case.close_reason = case.close_evidence = None
    if request.target == CaseStatus.TRANSFERRED_OUT:
        case.transfer_destination = request.destination
        fields.append("transfer_destination")
    changes.bump(session, case, actor, f"status:{previous}->{case.status}", fields)
    raise_triggers(session, case, triggers)
    audit.record(session, actor, "case.transition", case.id)
    return build_view(session, case)

"""Judge one pushed op against the register and apply it, or keep it for review with the reason."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..adapters.models import Assignment, Case, Enquiry
from ..adapters.storable import storable, storable_json
from ..adapters.sync_models import ReviewItem
from ..domain.case import is_closed
from ..domain.access import Actor
from ..domain.errors import DomainError, InvalidInput
from sync.ops import Op, is_known_kind, validate_payload
from sync.vocabulary import OpKind, OpStatus, QuarantineReason
from . import audit, changes
from .clock import utcnow
from .enquiries import record_enquiry
from .field_edits import apply_field_edit
from .plausibility import flag_if_implausible

FACT_KINDS = {OpKind.record_home_visit.value, OpKind.record_address_check.value}


# What a device is told when an op names a case outside its officer's caseload, whether or not that case exists:
# telling the two apart would let a device probe which case ids are real. The supervisor sees the real reason.
NOT_IN_CASELOAD = (QuarantineReason.out_of_scope, "this case is not in your caseload; the op is kept for review")
# One answer for every refused attach_photo, so a device cannot learn whether someone has uploaded a file.
PHOTO_NOT_ATTACHED = "payload: this photo cannot be attached; upload it in full from this device, then attach it " \
                     "to a visit recorded on this case. The op is kept for review"


def quarantine(session: Session, actor: Actor, op: dict, op_id: str, case_id: int | None,
               reason: QuarantineReason, detail: str, *,
               told: tuple[QuarantineReason, str] | None = None) -> dict:
    """Keep an op for review with its real reason; `told` is what the device hears instead, when the real
    reason would reveal something of the register (the case_id is then the op's own, echoed, whatever exists)."""
    op, detail = storable_json(op), storable(detail)  # refused text is kept for review, so it must be storable
    session.add(ReviewItem(op_id=op_id, device_id=actor.device_id, officer_id=actor.user_id, case_id=case_id,
                           category=OpStatus.quarantined.value, reason=reason.value, detail=detail[:2000], op=op,
                           created_at=utcnow(), open=True))
    audit.record(session, actor, "op.quarantine", case_id, reason.value)
    if told is not None:
        (reason, detail), case_id = told, op.get("case_id") if type(op.get("case_id")) is int else None
    return {"op_id": op_id, "status": OpStatus.quarantined.value, "reason": reason.value, "detail": detail,
            "case_id": case_id}


def judge_and_apply(session: Session, actor: Actor, op: Op) -> dict:
    def keep(reason: QuarantineReason, detail: str, told: tuple[QuarantineReason, str] | None = None) -> dict:
        return quarantine(session, actor, op.to_wire(), op.op_id, case.id if case else None, reason, detail,
                          told=told)

    case = None
    if not is_known_kind(op.kind):
        return keep(QuarantineReason.unknown_kind, f"this server does not know ops of kind {op.kind!r}")
    problems = validate_payload(op)
    if problems:
        return keep(QuarantineReason.invalid, "; ".join(f"{p.field}: {p.message}" for p in problems))
    case = session.scalar(select(Case).where(Case.id == op.case_id).with_for_update())
    if case is None:
        return keep(QuarantineReason.unknown_case, f"no case {op.case_id}", NOT_IN_CASELOAD)
    if not actor.account_active:  # a leaver's device hands in its work for a supervisor to accept or reject
        return keep(QuarantineReason.account_disabled, "the officer's account was disabled before this arrived")
    if not _assigned(session, actor.user_id, case.id):
        return keep(QuarantineReason.out_of_scope, "the case is no longer assigned to this officer",
                    NOT_IN_CASELOAD)
    if is_closed(case):
        return keep(QuarantineReason.case_closed, "the case was closed before this arrived")
    savepoint = session.begin_nested()  # a refusal below undoes the op's effect, not the quarantine record
    try:
        result = _apply(session, actor, op, case)
        savepoint.commit()
        return result
    except DomainError as exc:
        savepoint.rollback()
        told = (QuarantineReason.invalid, PHOTO_NOT_ATTACHED) if op.kind == OpKind.attach_photo.value else None
        return keep(QuarantineReason.invalid, f"{exc.field or 'op'}: {exc.detail}", told)


def _assigned(session: Session, officer_id: int, case_id: int) -> bool:
    return session.scalar(select(Assignment.id).where(
        Assignment.case_id == case_id, Assignment.officer_id == officer_id,
        Assignment.ended_at.is_(None)).limit(1)) is not None


def _apply(session: Session, actor: Actor, op: Op, case: Case) -> dict:
    if op.kind in FACT_KINDS:
        enquiry = record_enquiry(session, actor, case.id, enquiry_data(op), op_id=op.op_id)
        flag = flag_if_implausible(session, actor, op, case, enquiry["id"])
        return _applied(op, case, {"enquiry_id": enquiry["id"], **({"flagged": flag} if flag else {})})
    if op.kind == OpKind.attach_photo.value:
        return _attach_photo(session, actor, op, case)
    if op.kind == OpKind.acknowledge_assignment.value:
        return _acknowledge(session, actor, op, case)
    return apply_field_edit(session, actor, op, case)


def _applied(op: Op, case: Case, result: dict) -> dict:
    return {"op_id": op.op_id, "status": OpStatus.applied.value, "case_id": case.id, "case_version": case.version,
            "result": result}


def enquiry_data(op: Op) -> dict:
    p = op.payload
    if op.kind == OpKind.record_home_visit.value:
        return {"kind": "home_visit", "occurred_at": datetime.fromisoformat(p["visited_at"]), "outcome": p["outcome"],
                "notes": p.get("notes"), "notice_left": p.get("notice_left"),
                "person_spoken_to": p.get("person_spoken_to"), "new_address": p.get("new_address")}
    return {"kind": "address_check", "occurred_at": datetime.fromisoformat(p["checked_at"]), "source": p["source"],
            "outcome": p["result"], "notes": p.get("notes"), "new_address": p.get("new_address")}


def _attach_photo(session: Session, actor: Actor, op: Op, case: Case) -> dict:
    from .uploads import link_photo  # photos are stored by the upload service

    p = op.payload
    enquiry = session.scalar(select(Enquiry).where(Enquiry.op_id == p["visit_op_id"]))
    if enquiry is None or enquiry.case_id != case.id:
        raise _invalid("the visit this photo belongs to has not been recorded on this case", "visit_op_id")
    photo = link_photo(session, actor, enquiry_id=enquiry.id, sha256=p["sha256"], size=p["size"],
                       content_type=p["content_type"], caption=p.get("caption"), op_id=op.op_id)
    changes.bump(session, case, actor, "photo", ["photos"])
    return _applied(op, case, {"photo_id": photo["id"]})


def _acknowledge(session: Session, actor: Actor, op: Op, case: Case) -> dict:
    a = session.get(Assignment, op.payload["assignment_id"])
    if a is None or a.case_id != case.id or a.officer_id != actor.user_id or a.ended_at is not None:
        raise _invalid("no open assignment with that id for this officer on this case", "assignment_id")
    if a.acknowledged_at is None:
        a.acknowledged_at = utcnow()
        changes.bump(session, case, actor, "assignment_acknowledged", ["assignments"])
    audit.record(session, actor, "assignment.acknowledge", case.id)
    return _applied(op, case, {"assignment_id": a.id})


def _invalid(detail: str, field: str) -> DomainError:
    return InvalidInput(detail, field=f"payload.{field}")

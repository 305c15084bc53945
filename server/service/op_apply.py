"""Judge one pushed op against the register and apply it, or keep it for review with the reason."""
from __future__ import annotations

from datetime import datetime

from ..adapters.models import Case
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


class Refused(Exception):
    """An op's effect was refused by a domain rule: its savepoint rolls back, then `keep` records the refusal."""

    def __init__(self, op: Op, keep) -> None:
        super().__init__(op.op_id)
        self.op, self.keep = op, keep


def quarantine(uow, actor: Actor, op: dict, op_id: str, case_id: int | None,
               reason: QuarantineReason, detail: str, *,
               told: tuple[QuarantineReason, str] | None = None) -> dict:
    """Keep an op for review with its real reason; `told` is what the device hears instead, when the real
    reason would reveal something of the register (the case_id is then the op's own, echoed, whatever exists)."""
    op, detail = storable_json(op), storable(detail)  # refused text is kept for review, so it must be storable
    uow.review_items.add(ReviewItem(
        op_id=op_id, device_id=actor.device_id, officer_id=actor.user_id, case_id=case_id,
        category=OpStatus.quarantined.value, reason=reason.value, detail=detail[:2000], op=op,
        created_at=utcnow(), open=True))
    audit.record(uow, actor, "op.quarantine", case_id, reason.value)
    if told is not None:
        (reason, detail), case_id = told, op.get("case_id") if type(op.get("case_id")) is int else None
    return {"op_id": op_id, "status": OpStatus.quarantined.value, "reason": reason.value, "detail": detail,
            "case_id": case_id}


def judge_and_apply(uow, actor: Actor, op: Op) -> dict:
    """Judge the op and apply it (the caller's savepoint holds its effect), or keep it for review. A domain rule
    refusing the effect raises `Refused`: the caller rolls the savepoint back, then keeps the op."""
    def keep(reason: QuarantineReason, detail: str, told: tuple[QuarantineReason, str] | None = None) -> dict:
        return quarantine(uow, actor, op.to_wire(), op.op_id, case.id if case else None, reason, detail,
                          told=told)

    case = None
    if not is_known_kind(op.kind):
        return keep(QuarantineReason.unknown_kind, f"this server does not know ops of kind {op.kind!r}")
    problems = validate_payload(op)
    if problems:
        return keep(QuarantineReason.invalid, "; ".join(f"{p.field}: {p.message}" for p in problems))
    case = uow.cases.get(op.case_id, for_update=True)  # locked once per batch by the push (`lock_many`)
    if case is None:
        return keep(QuarantineReason.unknown_case, f"no case {op.case_id}", NOT_IN_CASELOAD)
    if not actor.account_active:  # a leaver's device hands in its work for a supervisor to accept or reject
        return keep(QuarantineReason.account_disabled, "the officer's account was disabled before this arrived")
    if not uow.assignments.is_assigned(actor.user_id, case.id):
        return keep(QuarantineReason.out_of_scope, "the case is no longer assigned to this officer",
                    NOT_IN_CASELOAD)
    if is_closed(case):
        return keep(QuarantineReason.case_closed, "the case was closed before this arrived")
    try:
        return _apply(uow, actor, op, case)
    except DomainError as exc:
        told = (QuarantineReason.invalid, PHOTO_NOT_ATTACHED) if op.kind == OpKind.attach_photo.value else None
        case_id, detail = case.id, f"{exc.field or 'op'}: {exc.detail}"  # now: the rollback expires the case
        raise Refused(op, lambda: quarantine(uow, actor, op.to_wire(), op.op_id, case_id, QuarantineReason.invalid,
                                             detail, told=told)) from exc


def _apply(uow, actor: Actor, op: Op, case: Case) -> dict:
    if op.kind in FACT_KINDS:
        enquiry = record_enquiry(uow, actor, case.id, enquiry_data(op), op_id=op.op_id)
        flag = flag_if_implausible(uow, actor, op, case, enquiry)
        return _applied(op, case, {"enquiry_id": enquiry["id"], **({"flagged": flag} if flag else {})})
    if op.kind == OpKind.attach_photo.value:
        return _attach_photo(uow, actor, op, case)
    if op.kind == OpKind.acknowledge_assignment.value:
        return _acknowledge(uow, actor, op, case)
    return apply_field_edit(uow, actor, op, case)


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


def _attach_photo(uow, actor: Actor, op: Op, case: Case) -> dict:
    from .uploads import link_photo  # photos are stored by the upload service

    p = op.payload
    enquiry = uow.enquiries.by_op_id(p["visit_op_id"])
    if enquiry is None or enquiry.case_id != case.id:
        raise _invalid("the visit this photo belongs to has not been recorded on this case", "visit_op_id")
    photo = link_photo(uow, actor, enquiry_id=enquiry.id, sha256=p["sha256"], size=p["size"],
                       content_type=p["content_type"], caption=p.get("caption"), op_id=op.op_id)
    changes.bump(uow, case, actor, "photo", ["photos"])
    return _applied(op, case, {"photo_id": photo["id"]})


def _acknowledge(uow, actor: Actor, op: Op, case: Case) -> dict:
    a = uow.assignments.get(op.payload["assignment_id"])
    if a is None or a.case_id != case.id or a.officer_id != actor.user_id or a.ended_at is not None:
        raise _invalid("no open assignment with that id for this officer on this case", "assignment_id")
    if a.acknowledged_at is None:
        a.acknowledged_at = utcnow()
        changes.bump(uow, case, actor, "assignment_acknowledged", ["assignments"])
    audit.record(uow, actor, "assignment.acknowledge", case.id)
    return _applied(op, case, {"assignment_id": a.id})


def _invalid(detail: str, field: str) -> DomainError:
    return InvalidInput(detail, field=f"payload.{field}")

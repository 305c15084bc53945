"""The supervisor's review queue: conflicts and quarantined ops, resolved by accept, pick or reject."""
from __future__ import annotations

from ..adapters.sync_models import ReviewItem
from ..domain.access import Actor, Permission, require
from ..domain.errors import Conflict, InvalidInput, NotFound
from sync.conflicts import same_value
from sync.ops import Op
from sync.vocabulary import OpKind, OpStatus, QuarantineReason
from . import audit, changes
from ..domain.case import edit as edit_case, field_value
from .clock import today, utcnow
from .enquiries import record_enquiry
from .op_apply import enquiry_data
from .plausibility import FLAGGED

# Quarantined facts a supervisor may still accept onto the case (the officer's word, recorded late).
ACCEPTABLE = {QuarantineReason.out_of_scope.value, QuarantineReason.case_closed.value,
              QuarantineReason.account_disabled.value}


def list_items(uow, actor: Actor, *, open_only: bool = True, case_id: int | None = None) -> list[dict]:
    require(actor, Permission.REVIEW)
    rows = uow.review_items.listing(open_only=open_only, case_id=case_id)
    audit.record_many(uow, actor, "review.list", sorted({r.case_id for r in rows if r.case_id}))
    return [item_view(r) for r in rows]


def resolve(uow, actor: Actor, item_id: int, decision: str, note: str | None,
            choices: dict[str, str] | None) -> dict:
    require(actor, Permission.REVIEW)
    item = uow.review_items.get(item_id)
    if item is None:
        raise NotFound(f"no review item {item_id}")
    if not item.open:
        raise Conflict("this item has already been resolved", field="item_id")
    if decision == "reject":
        if not (note or "").strip():
            raise InvalidInput("say why the item is rejected", field="note")
    elif decision == "pick":
        item.resolved_values = _pick(uow, actor, item, choices or {})
    elif decision == "accept":
        _accept(uow, actor, item)
    item.open, item.resolution, item.resolution_note = False, decision, note
    item.resolved_at, item.resolved_by = utcnow(), actor.user_id
    audit.record(uow, actor, "review.resolve", item.case_id, decision)
    return item_view(item)


def _accept(uow, actor: Actor, item: ReviewItem) -> None:
    if item.category in (OpStatus.conflict_soft.value, FLAGGED):
        return  # already applied; accepting clears the flag
    if item.category == OpStatus.conflict_hard.value:
        raise InvalidInput("a hard conflict is resolved by picking a value for each field", field="decision")
    op = Op.from_wire(item.op)
    if item.reason not in ACCEPTABLE or op.kind not in (OpKind.record_home_visit.value,
                                                        OpKind.record_address_check.value):
        raise InvalidInput("only a visit or address check kept for scope or closure can be accepted; "
                           "reject it with a reason instead", field="decision")
    enquiry = record_enquiry(uow, actor, item.case_id, enquiry_data(op), op_id=op.op_id)
    row = uow.enquiries.get(enquiry["id"])  # the fact is the officer's; the supervisor admits it
    row.actor_id, row.device_id, row.flagged = item.officer_id, item.device_id, f"accepted:{item.reason}"


def _pick(uow, actor: Actor, item: ReviewItem, choices: dict[str, str]) -> dict:
    if item.category != OpStatus.conflict_hard.value:
        raise InvalidInput("only hard conflicts have values to pick", field="decision")
    values = item.values or {}
    if set(choices) != set(values) or not set(choices.values()) <= {"server", "device"}:
        raise InvalidInput(f"choose 'server' or 'device' for each of: {', '.join(sorted(values))}",
                           field="choices")
    case = uow.cases.get(item.case_id, for_update=True)
    chosen = {path: values[path][0 if pick == "server" else 1] for path, pick in choices.items()}
    device_wins = {p: v for p, v in chosen.items() if choices[p] == "device"}
    # The supervisor chose between the two values kept with the conflict. If the field has been written again
    # since, writing the device's value would silently undo that newer write (a lost update): refuse instead.
    moved = sorted(p for p in device_wins if not same_value(p, field_value(case, p), values[p][0]))
    if moved:
        raise Conflict(f"changed since this conflict was kept: {', '.join(moved)}; read the case again, then "
                       "edit it or reject this item", field="choices")
    written = edit_case(case, device_wins, today()) if device_wins else []
    if written:
        changes.bump(uow, case, actor, "review_pick", written)
    return chosen


def item_view(r: ReviewItem) -> dict:
    return {"id": r.id, "op_id": r.op_id, "device_id": r.device_id, "officer_id": r.officer_id,
            "case_id": r.case_id, "category": r.category, "reason": r.reason, "detail": r.detail, "op": r.op,
            "values": r.values, "created_at": r.created_at, "open": r.open, "resolution": r.resolution,
            "resolution_note": r.resolution_note, "resolved_at": r.resolved_at, "resolved_by": r.resolved_by,
            "resolved_values": r.resolved_values}

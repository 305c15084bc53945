"""Field edits proposed from the doorstep: the only ops that can conflict (DESIGN.md principle 4)."""
from __future__ import annotations

from ..adapters.models import Case
from ..adapters.sync_models import ReviewItem
from ..domain.access import Actor, require_field_authority
from ..domain.errors import InvalidInput
from sync.conflicts import classify_edit
from sync.ops import Op
from sync.vocabulary import OpKind, OpStatus
from . import audit, changes
from ..domain.case import edit as edit_case, field_value
from .clock import today, utcnow


# Versions that only appended facts or moved assignments change no case field: they never conflict with an edit.
NOT_FIELDS = frozenset({"enquiries", "assignments", "photos", "referrals"})
EDIT_VERDICTS = (OpStatus.applied.value, OpStatus.conflict_soft.value, OpStatus.conflict_hard.value)


def own_edit_versions(uow, actor: Actor, case: Case, base_version: int) -> set[int]:
    """Versions after the base made by this device's own earlier field edits of the case.

    The officer typed those values, and the device queued this edit behind them (ops are pushed in the order they
    were captured), so they happened before this edit, not "meanwhile": they must not make it conflict."""
    if actor.device_id is None:
        return set()
    results = uow.applied_ops.edit_results(actor.device_id, case.id, OpKind.propose_case_change.value,
                                           EDIT_VERDICTS)
    return {r["case_version"] for r in results
            if isinstance(r.get("case_version"), int) and r["case_version"] > base_version
            and (r.get("result") or {}).get("applied_fields")}


def changed_paths_since(uow, case: Case, base_version: int, actor: Actor | None = None) -> set[str]:
    """Field paths written by any version after the base; a whole-carers rewrite touches every carer path.

    With `actor`, versions made by that device's own earlier field edits are left out (see `own_edit_versions`)."""
    own = own_edit_versions(uow, actor, case, base_version) if actor is not None else set()
    rows = uow.change_log.since(case.id, base_version)  # this transaction's queued changes too
    paths: set[str] = set()
    for version, kind, actor_id, fields in rows:
        if version in own and kind == "field_edit" and actor_id == actor.user_id:
            continue
        for name in fields:
            if name in NOT_FIELDS:
                continue
            if name == "carers":
                paths |= {f"carers.{c.id}.{k}" for c in case.carers for k in ("phone", "email")}
            else:
                paths.add(name)
    return paths


def apply_field_edit(uow, actor: Actor, op: Op, case: Case) -> dict:
    proposed: dict = op.payload["changes"]
    require_field_authority(actor, proposed)  # the sync allow-list already holds; the rule is one, wherever from
    if op.base_version > case.version:
        raise InvalidInput(f"base version {op.base_version} is newer than the case ({case.version})",
                           field="base_version")
    changed = changed_paths_since(uow, case, op.base_version, actor)
    decision = classify_edit(proposed, op.base_version, case.version,
                             {p: field_value(case, p) for p in changed})
    written = edit_case(case, dict(decision.apply), today()) if decision.apply else []
    if written:
        changes.bump(uow, case, actor, "field_edit", written)
    if decision.status in (OpStatus.conflict_soft, OpStatus.conflict_hard):
        _flag(uow, actor, op, case, decision)
    detail = decision.status.value + (f":{audit.fields_detail(written)}" if written else "")
    audit.record(uow, actor, "case.field_edit", case.id, detail[:audit.DETAIL_MAX])
    hard = {path: list(values) for path, values in decision.hard_fields.items()}
    return {"op_id": op.op_id, "status": decision.status.value, "case_id": case.id,
            "case_version": case.version, "result": {"applied_fields": sorted(decision.apply)},
            "hard_fields": hard or None}


def _flag(uow, actor: Actor, op: Op, case: Case, decision) -> None:
    """Both values of a hard conflict are kept here; a supervisor picks one (or accepts the soft flag)."""
    detail = ("changed on the server meanwhile: " + ", ".join(decision.other_changed)
              if decision.status == OpStatus.conflict_soft else
              "the same field was changed on the server meanwhile: " + ", ".join(sorted(decision.hard_fields)))
    uow.review_items.add(ReviewItem(
        op_id=op.op_id, device_id=actor.device_id, officer_id=actor.user_id, case_id=case.id,
        category=decision.status.value, reason=None, detail=detail, op=op.to_wire(),
        values={p: list(v) for p, v in decision.hard_fields.items()} or None, created_at=utcnow(), open=True))

"""Push (operations up): each op judged alone, applied at most once, nothing captured ever dropped."""
from __future__ import annotations

import hashlib
import logging

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..adapters.sync_models import AppliedOp
from ..domain.access import Actor
from sync.ops import Op, canonical_json, fingerprint
from sync.errors import OpInvalid
from sync.vocabulary import OpStatus, QuarantineReason
from .clock import utcnow
from .devices import device_of
from .op_apply import judge_and_apply, quarantine
from .uow import UnitOfWork

log = logging.getLogger(__name__)


BATCH = 50  # ops per transaction: one commit (one fsync) per batch, a savepoint per op


def push(uow: UnitOfWork, actor: Actor, raw_ops: list[dict]) -> list[dict]:
    """Each op is judged alone in its own savepoint, so one bad op never blocks or undoes the others
    (principle 3); ops commit in batches. If a batch fails to commit, the request fails and the device,
    having no results, sends the ops again: they are applied then, still once each."""
    with uow.transaction() as session:
        device_of(session, actor)  # sync is for enrolled devices
    results: list[dict] = []
    for start in range(0, len(raw_ops), BATCH):
        with uow.transaction() as session:
            results += [push_one(session, actor, raw) for raw in raw_ops[start:start + BATCH]]
    return results


def push_one(session: Session, actor: Actor, raw: dict) -> dict:
    for attempt in range(2):
        savepoint = session.begin_nested()
        try:
            result = _apply_once(session, actor, raw)
            savepoint.commit()
            return result
        except IntegrityError:
            # The same op arrived twice at once (duplicate delivery): the loser rolls back its savepoint and,
            # on the second pass, finds the winner's record and answers "duplicate".
            savepoint.rollback()
            if attempt == 1:
                raise
    raise AssertionError("unreachable")


def _apply_once(session: Session, actor: Actor, raw: dict) -> dict:
    try:
        op = Op.from_wire(raw)
        if "\x00" in op.op_id:
            raise OpInvalid("op_id", "contains a NUL character")
    except OpInvalid as exc:
        return _unreadable(session, actor, raw, exc)
    fp = fingerprint(op)
    seen = session.get(AppliedOp, op.op_id)
    if seen is not None:
        return _repeat(seen, op.op_id, op.case_id, fp)
    result = judge_and_apply(session, actor, op)
    session.add(AppliedOp(op_id=op.op_id, device_id=actor.device_id, actor_id=actor.user_id, fingerprint=fp,
                          kind=storable(op.kind), case_id=result.get("case_id"), status=result["status"],
                          result=result, received_at=utcnow()))
    session.flush()
    return result


def storable(text: str, limit: int = 64) -> str:
    """Text a database column can hold: no NUL (PostgreSQL refuses it), at most `limit` characters."""
    return text.replace("\x00", "\ufffd")[:limit]


def _repeat(seen: AppliedOp, op_id: str, case_id: object, fp: str) -> dict:
    if seen.fingerprint != fp:
        return {"op_id": op_id, "status": OpStatus.clash.value, "case_id": case_id if isinstance(case_id, int) else None,
                "detail": "this op id was used before for different content; nothing was done"}
    return {**seen.result, "status": OpStatus.duplicate.value, "result": {**(seen.result.get("result") or {}),
                                                                          "first_status": seen.status}}


def _unreadable(session: Session, actor: Actor, raw: dict, exc: OpInvalid) -> dict:
    """An op we cannot even parse is still kept for a supervisor, under whatever id it gave."""
    op_id = storable(str(raw.get("op_id") or "")) or None
    if op_id is None:
        return {"op_id": None, "status": OpStatus.quarantined.value, "reason": QuarantineReason.invalid.value,
                "detail": f"{exc.field}: {exc.message}; an op without an id cannot be kept"}
    fp = hashlib.sha256(canonical_json(raw).encode()).hexdigest()
    seen = session.get(AppliedOp, op_id)
    if seen is not None:
        return _repeat(seen, op_id, raw.get("case_id"), fp)
    result = quarantine(session, actor, raw, op_id, None, QuarantineReason.invalid, f"{exc.field}: {exc.message}")
    session.add(AppliedOp(op_id=op_id, device_id=actor.device_id, actor_id=actor.user_id, fingerprint=fp,
                          kind=storable(str(raw.get("kind"))), case_id=None, status=result["status"], result=result,
                          received_at=utcnow()))
    session.flush()
    return result

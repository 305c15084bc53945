"""Push (operations up): each op judged alone, applied at most once, nothing captured ever dropped."""
from __future__ import annotations

import hashlib
import json
import logging

from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm import Session

from ..adapters.storable import storable as storable_text
from ..adapters.storable import storable_json
from ..adapters.sync_models import AppliedOp
from ..domain.access import Actor
from sync.ops import Op, fingerprint
from sync.errors import OpInvalid
from sync.vocabulary import OpStatus, QuarantineReason
from .clock import utcnow
from .devices import device_of
from .op_apply import judge_and_apply, quarantine
from .uow import Database

log = logging.getLogger(__name__)


BATCH = 50  # ops per transaction: one commit (one fsync) per batch, a savepoint per op


def push(uow: Database, actor: Actor, raw_ops: list[dict]) -> list[dict]:
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


# The database is down, locked or busy: nothing is wrong with the op, so the push fails (503) and is retried.
TRANSIENT = (OperationalError, InterfaceError)


def push_one(session: Session, actor: Actor, raw: dict) -> dict:
    for attempt in range(2):
        savepoint = session.begin_nested()
        try:
            result = _apply_once(session, actor, raw)
            savepoint.commit()
            return result
        except IntegrityError as exc:
            # The same op arrived twice at once (duplicate delivery): the loser rolls back its savepoint and,
            # on the second pass, finds the winner's record and answers "duplicate".
            savepoint.rollback()
            if attempt == 1:
                return _kept_after_failure(session, actor, raw, exc)
        except TRANSIENT:
            raise
        except Exception as exc:  # noqa: BLE001 - whatever broke, this op alone must not block the ones behind it
            savepoint.rollback()
            return _kept_after_failure(session, actor, raw, exc)
    raise AssertionError("unreachable")


def _kept_after_failure(session: Session, actor: Actor, raw: dict, exc: Exception) -> dict:
    """The server failed on this op: its effect is undone and it is kept for review (reason `server_error`), so
    nothing captured is lost and the ops behind it still apply. Its record makes a retry answer the same."""
    op_id = storable(str(raw.get("op_id") or "")) if isinstance(raw, dict) else ""
    log.error("op %r could not be handled; kept for review", op_id, exc_info=exc)
    detail = f"the server could not handle this op ({type(exc).__name__}); it is kept for review"
    if not op_id:
        return {"op_id": None, "status": OpStatus.quarantined.value, "reason": QuarantineReason.server_error.value,
                "detail": detail + ", but an op without an id cannot be kept"}
    fp = _fingerprint_of(raw)
    seen = session.get(AppliedOp, op_id)
    if seen is not None:
        return _repeat(seen, op_id, raw.get("case_id"), fp)
    result = quarantine(session, actor, storable_json(raw), op_id, None, QuarantineReason.server_error, detail)
    session.add(AppliedOp(op_id=op_id, device_id=actor.device_id, actor_id=actor.user_id, fingerprint=fp,
                          kind=storable(str(raw.get("kind"))), case_id=None, status=result["status"], result=result,
                          received_at=utcnow()))
    session.flush()
    return result


def _fingerprint_of(raw: dict) -> str:
    """The fingerprint a retry of this op will be compared with: the op's own when it can be read, else the raw
    object's (kept even for NaN or other values canonical JSON refuses, so a retry still matches)."""
    try:
        return fingerprint(Op.from_wire(raw))
    except (OpInvalid, TypeError, ValueError):
        return _raw_fingerprint(raw)


def _raw_fingerprint(raw: object) -> str:
    text = json.dumps(raw, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


def _apply_once(session: Session, actor: Actor, raw: dict) -> dict:
    try:
        op = Op.from_wire(raw)
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
    """Text a key column can hold (see `adapters.storable`), at most `limit` characters."""
    return storable_text(text, limit)


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
    fp = _raw_fingerprint(raw)
    seen = session.get(AppliedOp, op_id)
    if seen is not None:
        return _repeat(seen, op_id, raw.get("case_id"), fp)
    result = quarantine(session, actor, raw, op_id, None, QuarantineReason.invalid, f"{exc.field}: {exc.message}")
    session.add(AppliedOp(op_id=op_id, device_id=actor.device_id, actor_id=actor.user_id, fingerprint=fp,
                          kind=storable(str(raw.get("kind"))), case_id=None, status=result["status"], result=result,
                          received_at=utcnow()))
    session.flush()
    return result

"""Push (operations up): each op judged alone, applied at most once, nothing captured ever dropped."""
from __future__ import annotations

import hashlib
import json
import logging

from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError

from ..adapters.storable import storable as storable_text
from ..adapters.storable import storable_json
from ..adapters.sync_models import AppliedOp
from ..domain.access import Actor
from sync.ops import Op, fingerprint
from sync.errors import OpInvalid
from sync.vocabulary import OpStatus, QuarantineReason
from .access import MAX_CASE_ID
from .clock import utcnow
from .devices import device_of
from .op_apply import Refused, judge_and_apply, quarantine

log = logging.getLogger(__name__)


def push(uow, actor: Actor, raw_ops: list[dict]) -> list[dict]:
    """Each op is judged alone in its own savepoint, so one bad op never blocks or undoes the others
    (principle 3); the whole batch commits once, with the request. If the commit fails, the request fails and
    the device, having no results, sends the ops again: they are applied then, still once each."""
    device_of(uow, actor)  # sync is for enrolled devices
    uow.applied_ops.prefetch(raw.get("op_id") for raw in raw_ops if isinstance(raw, dict))
    _lock_cases(uow, actor, raw_ops)
    return [push_one(uow, actor, raw) for raw in raw_ops]


def _lock_cases(uow, actor: Actor, raw_ops: list[dict]) -> None:
    """Lock every case the batch names once, in id order, and read the officer's assignments to them once,
    instead of per op (the ops' savepoints then find both without asking the database again)."""
    named = {raw.get("case_id") for raw in raw_ops if isinstance(raw, dict)}
    case_ids = {cid for cid in named if type(cid) is int and 0 < cid <= MAX_CASE_ID}
    if not case_ids or actor.user_id is None:
        return
    locked = uow.cases.lock_many(case_ids)
    uow.cases.prefetch_first_referrals(set(locked))  # for the visit-time check, once per batch
    uow.assignments.vouch(actor.user_id, uow.assignments.open_case_ids(actor.user_id) & set(locked))


# The database is down, locked or busy: nothing is wrong with the op, so the push fails (503) and is retried.
TRANSIENT = (OperationalError, InterfaceError)


def push_one(uow, actor: Actor, raw: dict) -> dict:
    for attempt in range(2):
        try:
            with uow.savepoint():
                return _apply_once(uow, actor, raw, fresh=attempt > 0)
        except IntegrityError as exc:
            # The same op arrived twice at once (duplicate delivery): the loser's savepoint rolls back and, on
            # the second pass, it finds the winner's record and answers "duplicate".
            _forget(uow, raw)
            if attempt == 1:
                return _kept_after_failure(uow, actor, raw, exc)
        except TRANSIENT:
            raise
        except Refused as refused:  # the op's effect went with its savepoint; the refusal is kept for review
            _forget(uow, raw)
            return _keep_refused(uow, actor, raw, refused)
        except Exception as exc:  # noqa: BLE001 - whatever broke, this op alone must not block the ones behind it
            _forget(uow, raw)
            return _kept_after_failure(uow, actor, raw, exc)
    raise AssertionError("unreachable")


def _forget(uow, raw: object) -> None:
    if isinstance(raw, dict) and isinstance(raw.get("op_id"), str):
        uow.applied_ops.forget(raw["op_id"])


def _keep_refused(uow, actor: Actor, raw: dict, refused: Refused) -> dict:
    """Keep a refused op (its savepoint rolled back) in a savepoint of its own, with the record of it."""
    try:
        with uow.savepoint():
            result = refused.keep()
            _record(uow, actor, refused.op.op_id, fingerprint(refused.op), refused.op.kind, result)
            return result
    except IntegrityError:  # recorded meanwhile by a duplicate delivery: answer as that one did
        return _apply_once(uow, actor, raw, fresh=True)


def _kept_after_failure(uow, actor: Actor, raw: dict, exc: Exception) -> dict:
    """The server failed on this op: its effect is undone and it is kept for review (reason `server_error`), so
    nothing captured is lost and the ops behind it still apply. Its record makes a retry answer the same."""
    op_id = storable(str(raw.get("op_id") or "")) if isinstance(raw, dict) else ""
    log.error("op %r could not be handled; kept for review", op_id, exc_info=exc)
    detail = f"the server could not handle this op ({type(exc).__name__}); it is kept for review"
    if not op_id:
        return {"op_id": None, "status": OpStatus.quarantined.value, "reason": QuarantineReason.server_error.value,
                "detail": detail + ", but an op without an id cannot be kept"}
    fp = _fingerprint_of(raw)
    seen = uow.applied_ops.get(op_id, fresh=True)
    if seen is not None:
        return _repeat(seen, op_id, raw.get("case_id"), fp)
    result = quarantine(uow, actor, storable_json(raw), op_id, None, QuarantineReason.server_error, detail)
    _record(uow, actor, op_id, fp, str(raw.get("kind")), result)
    return result


def _record(uow, actor: Actor, op_id: str, fp: str, kind: str, result: dict) -> None:
    uow.applied_ops.add(AppliedOp(op_id=op_id, device_id=actor.device_id, actor_id=actor.user_id, fingerprint=fp,
                                  kind=storable(kind), case_id=result.get("case_id"), status=result["status"],
                                  result=result, received_at=utcnow()))


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


def _apply_once(uow, actor: Actor, raw: dict, *, fresh: bool = False) -> dict:
    try:
        op = Op.from_wire(raw)
    except OpInvalid as exc:
        return _unreadable(uow, actor, raw, exc, fresh=fresh)
    fp = fingerprint(op)
    seen = uow.applied_ops.get(op.op_id, fresh=fresh)
    if seen is not None:
        return _repeat(seen, op.op_id, op.case_id, fp)
    result = judge_and_apply(uow, actor, op)
    _record(uow, actor, op.op_id, fp, op.kind, result)
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


def _unreadable(uow, actor: Actor, raw: dict, exc: OpInvalid, *, fresh: bool) -> dict:
    """An op we cannot even parse is still kept for a supervisor, under whatever id it gave."""
    op_id = storable(str(raw.get("op_id") or "")) or None
    if op_id is None:
        return {"op_id": None, "status": OpStatus.quarantined.value, "reason": QuarantineReason.invalid.value,
                "detail": f"{exc.field}: {exc.message}; an op without an id cannot be kept"}
    fp = _raw_fingerprint(raw)
    seen = uow.applied_ops.get(op_id, fresh=fresh)
    if seen is not None:
        return _repeat(seen, op_id, raw.get("case_id"), fp)
    result = quarantine(uow, actor, raw, op_id, None, QuarantineReason.invalid, f"{exc.field}: {exc.message}")
    _record(uow, actor, op_id, fp, str(raw.get("kind")), result)
    return result

"""The append-only audit log of every read and write of case data."""
from __future__ import annotations

from ..adapters.access_models import AuditEntry
from ..domain.access import Actor, Permission, require
from .clock import utcnow


def record(uow, actor: Actor | None, action: str, case_id: int | None, detail: str | None = None) -> None:
    uow.audit.add(AuditEntry(at=utcnow(), actor_id=actor.user_id if actor else None,
                             device_id=actor.device_id if actor else None,
                             action=action, case_id=case_id, detail=detail))


DETAIL_MAX = 200  # the audit_log.detail column


def fields_detail(fields) -> str | None:
    """The names of the fields an update changed (never their values), as an audit entry's detail."""
    names = sorted(set(fields))
    if not names:
        return None
    text = ",".join(names)
    while len(text) > DETAIL_MAX:  # too many to list: name as many as fit and count the rest
        names.pop()
        text = f"{','.join(names)},+{len(set(fields)) - len(names)}"
    return text


def record_many(uow, actor: Actor, action: str, case_ids: list[int]) -> None:
    for case_id in case_ids:
        record(uow, actor, action, case_id)


def query(uow, actor: Actor, *, case_id: int | None = None, actor_id: int | None = None,
          action: str | None = None, page: int = 1, page_size: int = 100) -> tuple[list[AuditEntry], int]:
    require(actor, Permission.READ_AUDIT)
    criteria = {"case_id": case_id, "actor_id": actor_id, "action": action}
    total = uow.audit.count(**criteria)
    offset = (page - 1) * page_size
    if offset >= total:  # past the end: empty, without handing the database an offset it may not hold
        return [], total
    return uow.audit.page(offset, page_size, **criteria), total

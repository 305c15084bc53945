"""The append-only audit log of every read and write of case data."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..adapters.access_models import AuditEntry
from ..domain.access import Actor, Permission, require
from .clock import utcnow


def record(session: Session, actor: Actor | None, action: str, case_id: int | None,
           detail: str | None = None) -> None:
    session.add(AuditEntry(at=utcnow(), actor_id=actor.user_id if actor else None,
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


def record_many(session: Session, actor: Actor, action: str, case_ids: list[int]) -> None:
    for case_id in case_ids:
        record(session, actor, action, case_id)


def query(session: Session, actor: Actor, *, case_id: int | None = None, actor_id: int | None = None,
          action: str | None = None, page: int = 1, page_size: int = 100) -> tuple[list[AuditEntry], int]:
    require(actor, Permission.READ_AUDIT)
    stmt = select(AuditEntry).order_by(AuditEntry.id)
    if case_id is not None:
        stmt = stmt.where(AuditEntry.case_id == case_id)
    if actor_id is not None:
        stmt = stmt.where(AuditEntry.actor_id == actor_id)
    if action is not None:
        stmt = stmt.where(AuditEntry.action == action)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    offset = (page - 1) * page_size
    if offset >= total:  # past the end: empty, without handing the database an offset it may not hold
        return [], total
    return list(session.scalars(stmt.offset(offset).limit(page_size))), total

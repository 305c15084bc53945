"""Every write to a case bumps its version and appends to the change log, in the same transaction."""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from ..adapters.models import Case, CaseChange
from ..domain.access import Actor
from ..domain.case import bump_version
from .clock import utcnow
from .uow import lock_change_log


def bump(session: Session, case: Case, actor: Actor | None, kind: str, fields: Iterable[str] = ()) -> CaseChange:
    now = utcnow()
    bump_version(case, now)
    lock_change_log(session)
    change = CaseChange(case_id=case.id, version=case.version, at=now,
                        actor_id=actor.user_id if actor else None, kind=kind, fields=sorted(set(fields)))
    session.add(change)
    session.flush()
    return change

"""Every write to a case bumps its version and appends to the change log, in the same transaction."""
from __future__ import annotations

from collections.abc import Iterable

from ..adapters.models import Case
from ..adapters.repositories import ChangeLog
from ..domain.access import Actor
from ..domain.case import bump_version
from .clock import utcnow


def bump(uow, case: Case, actor: Actor | None, kind: str, fields: Iterable[str] = ()) -> dict:
    """The change is queued in the unit of work and written, numbered in commit order, when it commits."""
    now = utcnow()
    bump_version(case, now)
    change_log = getattr(uow, "change_log", None)
    if change_log is not None:
        return change_log.append(case.id, case.version, now, actor.user_id if actor else None, kind, fields)
    return _append_now(uow, case, actor, kind, fields, now)  # a bare session (a script): write it at once


def _append_now(session, case: Case, actor: Actor | None, kind: str, fields: Iterable[str], now) -> dict:
    log = ChangeLog(session)
    row = log.append(case.id, case.version, now, actor.user_id if actor else None, kind, fields)
    log.write_queued()
    return row

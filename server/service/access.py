"""Per-object access: an officer may touch only the cases with an open assignment to them."""
from __future__ import annotations

from ..adapters.models import Case
from ..domain.access import Actor, Permission, require, sees_whole_register
from ..domain.errors import NotFound
from ..domain.vocabulary import Role
from . import audit

MAX_CASE_ID = 2**63 - 1  # the largest id a case (and an audit entry's case_id) can hold


class CaseHidden(NotFound):
    """404 from the per-object check: the actor may not see this case (it may not exist either). Answered like
    any 404, so existence is not revealed; the denial itself is audited (`record_denied`)."""

    def __init__(self, case_id: int, detail: str | None = None) -> None:
        super().__init__(detail or f"no case {case_id}")
        self.case_id = case_id


def record_denied(uow, actor: Actor | None, denied: CaseHidden) -> None:
    """Audit a denied read or write of case data: who, which case id, "denied" (called after the rollback)."""
    case_id = denied.case_id if isinstance(denied.case_id, int) and 0 < denied.case_id <= MAX_CASE_ID else None
    audit.record(uow, actor, "case.denied", case_id, "denied")


def may_see(uow, actor: Actor, case_id: int) -> bool:
    if sees_whole_register(actor):
        return True
    if actor.role == Role.OFFICER:
        return uow.assignments.is_assigned(actor.user_id, case_id)
    return False


def load_case(uow, actor: Actor, case_id: int, permission: Permission = Permission.READ_CASE,
              *, for_update: bool = False) -> Case:
    """Load a case the actor may see, or 404 without saying whether it exists."""
    require(actor, permission)
    if not may_see(uow, actor, case_id):
        raise CaseHidden(case_id)
    case = uow.cases.get(case_id, for_update=for_update)
    if case is None:
        raise NotFound(f"no case {case_id}")
    return case

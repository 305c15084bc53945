"""Use cases on the case register: create, read, list with filters, update with a version check."""
from __future__ import annotations

import uuid

from ..adapters.models import Case
from ..domain.access import Actor, Permission, require, require_field_authority, sees_whole_register
from ..domain.calendar import SchoolCalendar
from ..domain.errors import InvalidInput, PreconditionRequired, VersionMismatch
from ..domain.lifecycle import CaseStatus
from ..domain.school_age import dob_problem
from ..domain.triggers import triggers_for_safeguarding
from ..domain.vocabulary import Role
from sync.conflicts import validate_value
from . import audit, changes
from .access import load_case
from .actions import raise_triggers
from .calendar import school_calendar
from ..domain.case import edit as edit_case
from .clock import today as london_today
from .clock import utcnow
from .presenters import case_view


def build_view(uow, case: Case, cal: SchoolCalendar | None = None) -> dict:
    cal = cal or school_calendar(uow)
    received = uow.cases.first_referral_received(case.id)
    return case_view(case, cal, london_today(), referral_received=received.date() if received else None,
                     open_assignments=uow.assignments.open_for_case(case.id))


def new_case(uow, actor: Actor, data: dict, status: CaseStatus) -> Case:
    """Insert a case (version 1, first change-log entry) and raise its safeguarding alerts."""
    now = utcnow()
    _check_dob(data["dob"])
    case = Case(reference=f"P-{uuid.uuid4().hex[:16]}", version=0, status=status.value, created_at=now, updated_at=now,
                first_name=data["first_name"], last_name=data["last_name"], dob=data["dob"],
                risk_factors=[], vulnerable_groups=[], eal=False, fsm=False, sen_status="none",
                cp=False, cin=False, cic=False)
    uow.cases.add(case)
    case.reference = f"CME-{now.year}-{case.id:05d}"
    # The first change names every field the case was created with, the constructor's three included.
    fields = ["first_name", "last_name", "dob", *edit_case(case, data, london_today())]
    changes.bump(uow, case, actor, "created", fields)
    raise_triggers(uow, case, triggers_for_safeguarding(False, case.cp or case.cin))
    return case


def _check_dob(dob) -> None:
    problem = dob_problem(dob, london_today())
    if problem:
        raise InvalidInput(f"date of birth {problem}", field="dob")


def create_case(uow, actor: Actor, data: dict) -> dict:
    require(actor, Permission.CREATE_CASE)
    case = new_case(uow, actor, data, CaseStatus.REFERRED)
    audit.record(uow, actor, "case.create", case.id)
    return build_view(uow, case)


def get_case(uow, actor: Actor, case_id: int) -> dict:
    case = load_case(uow, actor, case_id)
    audit.record(uow, actor, "case.read", case.id)
    return build_view(uow, case)


def list_cases(uow, actor: Actor, filters: dict, page: int, page_size: int) -> tuple[list[dict], int]:
    require(actor, Permission.READ_CASE)
    within = _caseload(uow, actor, filters.get("assigned_to"))
    criteria = {"status": filters.get("status"), "reference": filters.get("reference"), "within": within}
    cal = school_calendar(uow)
    if filters.get("overdue") is not None:
        # Deadlines depend on the school calendar, so the overdue filter is applied to views.
        views = [build_view(uow, c, cal) for c in uow.cases.find(**criteria)]
        views = [v for v in views if bool(v["overdue"]) == filters["overdue"]]
        total, views = len(views), views[(page - 1) * page_size: page * page_size]
    else:
        total = uow.cases.count(**criteria)
        offset = (page - 1) * page_size
        # A page past the end is empty (and a huge page number must not reach the database as an offset).
        page_rows = uow.cases.find(**criteria, offset=offset, limit=page_size) if offset < total else []
        views = [build_view(uow, c, cal) for c in page_rows]
    audit.record_many(uow, actor, "case.list", [v["id"] for v in views])
    return views, total


def _caseload(uow, actor: Actor, assigned_to: int | None) -> set[int] | None:
    """The case ids a listing is limited to: the actor's own caseload unless they see the whole register, and
    the `assigned_to` officer's if asked; None for no limit."""
    within = None if sees_whole_register(actor) else uow.assignments.open_case_ids(actor.user_id)
    if assigned_to is not None:
        theirs = uow.assignments.open_case_ids(assigned_to)
        within = theirs if within is None else within & theirs
    return within


def check_version(case: Case, if_match: int | None) -> None:
    if if_match is None:
        raise PreconditionRequired("send If-Match with the ETag from your last read of the case",
                                   field="If-Match")
    if if_match != case.version:
        raise VersionMismatch(f"the case is at version {case.version}, not {if_match}; read it again",
                              field="If-Match")


def update_case(uow, actor: Actor, case_id: int, if_match: int | None, data: dict) -> dict:
    case = load_case(uow, actor, case_id, Permission.UPDATE_CASE, for_update=True)
    check_version(case, if_match)
    was_flagged = case.cp or case.cin
    fields = edit_case(case, data, london_today())
    # The same authority as a field edit from a device, judged on what would change (a field sent back unchanged
    # is no edit): an officer changes what sync allows, checked by its value rules, and safeguarding and
    # statutory fields change only by a supervisor. A refusal rolls the whole update back.
    require_field_authority(actor, fields)
    if actor.role == Role.OFFICER:
        _check_like_a_field_edit({path: data[path] for path in fields})
    if "dob" in fields:  # an old case's child may be past the bounds now: only a changed DOB is judged
        _check_dob(case.dob)
    if fields:
        changes.bump(uow, case, actor, "updated", fields)
        raise_triggers(uow, case, triggers_for_safeguarding(was_flagged, case.cp or case.cin))
    audit.record(uow, actor, "case.update", case.id, audit.fields_detail(fields))
    return build_view(uow, case)


def _check_like_a_field_edit(data: dict) -> None:
    """An officer's values pass the same checks as a device's proposed values (`sync.conflicts.validate_value`)."""
    for path, value in data.items():
        problem = validate_value(path, value)
        if problem:
            raise InvalidInput(problem.message, field=problem.field)


"""The register's use cases run on the fake unit of work: no database, the same rules and records."""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from server.adapters.access_models import User
from server.domain.access import Actor
from server.domain.errors import ClosureRefused, Conflict, Forbidden, InvalidInput
from server.domain.triggers import SOCIAL_WORKER_ALERT
from server.domain.lifecycle import CaseStatus, Closure, CloseReason, TransitionRequest
from server.domain.vocabulary import Role
from server.service import access, actions, assignments, cases, lifecycle
from server.service.access import CaseHidden

from .fakes import FakeUnitOfWork

CHILD = {"first_name": "Zebedee", "last_name": "Quillfeather", "dob": date(2016, 3, 14)}


def _user(uow: FakeUnitOfWork, username: str, role: Role, *, active: bool = True) -> Actor:
    user = uow.accounts.add(User(username=username, display_name=username, role=role.value, password_hash="x",
                                 active=active, created_at=datetime(2026, 9, 1, tzinfo=UTC)))
    return Actor(user.id, role)


@pytest.fixture()
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


@pytest.fixture()
def people(uow):
    return {"supervisor": _user(uow, "sam", Role.SUPERVISOR), "officer": _user(uow, "olive", Role.OFFICER),
            "officer2": _user(uow, "oscar", Role.OFFICER), "referrer": _user(uow, "school", Role.REFERRER)}


def _open_case(uow, sup, **child) -> int:
    case_id = cases.create_case(uow, sup, {**CHILD, **child})["id"]
    lifecycle.transition(uow, sup, case_id, None, TransitionRequest(CaseStatus.OPEN))
    return case_id


def test_created_case_is_version_1_with_one_change_and_the_cp_alert_raised(uow, people):
    view = cases.create_case(uow, people["supervisor"], {**CHILD, "cp": True, "social_worker": "R. Ash"})
    assert (view["version"], view["status"]) == (1, "referred")
    assert view["reference"].startswith("CME-")
    [change] = uow.change_log.for_case(view["id"])
    assert (change["version"], change["kind"]) == (1, "created")
    assert {"first_name", "last_name", "dob", "cp", "social_worker"} <= set(change["fields"])
    assert [a.code for a in uow.actions.listing(case_ids={view["id"]})] == [SOCIAL_WORKER_ALERT.code]
    assert uow.audit.actions() == [("case.create", view["id"])]


def test_created_case_without_cp_or_cin_raises_no_alert(uow, people):
    view = cases.create_case(uow, people["supervisor"], CHILD)
    assert uow.actions.listing() == []
    assert view["assignments"] == []


def test_a_referrer_cannot_create_a_case_directly(uow, people):
    with pytest.raises(Forbidden):
        cases.create_case(uow, people["referrer"], CHILD)
    assert uow.cases.count() == 0 and uow.change_log.rows == []


def test_closing_without_evidence_is_refused_naming_the_rule_and_changes_nothing(uow, people):
    sup = people["supervisor"]
    case_id = _open_case(uow, sup)
    with pytest.raises(ClosureRefused) as refused:
        lifecycle.transition(uow, sup, case_id, None, TransitionRequest(CaseStatus.CLOSED))
    assert (refused.value.rule, refused.value.field) == ("§5.3", "closure")
    assert uow.cases.get(case_id).status == "open" and uow.cases.get(case_id).version == 2


def test_closing_ends_the_open_assignments_in_the_same_change(uow, people):
    sup, officer = people["supervisor"], people["officer"]
    case_id = _open_case(uow, sup)
    assignments.assign(uow, sup, case_id, officer.user_id, None, "visit")
    closure = Closure(CloseReason.ON_ROLL_AT_SCHOOL, school_name="Fictown Academy", on_roll_date=date(2026, 9, 7))
    view = lifecycle.transition(uow, sup, case_id, None, TransitionRequest(CaseStatus.CLOSED, closure))
    assert view["status"] == "closed" and view["assignments"] == []
    assert uow.assignments.open_case_ids(officer.user_id) == set()
    [ended] = uow.assignments.listing(case_id=case_id)
    assert ended.ended_by == sup.user_id
    last = uow.change_log.for_case(case_id)[-1]
    assert last["kind"] == "status:open->closed" and "assignments" in last["fields"]
    with pytest.raises(CaseHidden):  # the case has left the officer's caseload
        access.load_case(uow, officer, case_id)


def test_assign_reassign_and_end_each_move_the_version_once(uow, people):
    sup, officer, officer2 = people["supervisor"], people["officer"], people["officer2"]
    case_id = _open_case(uow, sup)
    first = assignments.assign(uow, sup, case_id, officer.user_id, date(2026, 12, 1), "visit")
    second = assignments.reassign(uow, sup, first["id"], officer2.user_id, None, None)
    assert (second["due"], second["instructions"]) == (date(2026, 12, 1), "visit")  # kept from the first
    assert uow.assignments.open_case_ids(officer.user_id) == set()
    assert uow.assignments.open_case_ids(officer2.user_id) == {case_id}
    ended = assignments.end(uow, sup, second["id"])
    assert ended["ended_at"] is not None
    kinds = [c["kind"] for c in uow.change_log.for_case(case_id)]
    assert kinds[-3:] == ["assigned", "reassigned", "unassigned"]
    assert [c["version"] for c in uow.change_log.for_case(case_id)] == [1, 2, 3, 4, 5]
    with pytest.raises(Conflict):
        assignments.end(uow, sup, second["id"])


def test_assigning_to_a_disabled_officer_or_a_supervisor_is_refused_naming_officer_id(uow, people):
    sup = people["supervisor"]
    leaver = _user(uow, "gone", Role.OFFICER, active=False)
    case_id = _open_case(uow, sup)
    for who in (leaver.user_id, sup.user_id):
        with pytest.raises(InvalidInput) as refused:
            assignments.assign(uow, sup, case_id, who, None, None)
        assert refused.value.field == "officer_id"
    assert uow.assignments.listing() == []


def test_a_closed_case_takes_no_new_assignment(uow, people):
    sup = people["supervisor"]
    case_id = cases.create_case(uow, sup, CHILD)["id"]
    closure = Closure(CloseReason.REFERRAL_UNFOUNDED, school_name="Fictown Primary", on_roll_date=date(2026, 9, 7))
    lifecycle.transition(uow, sup, case_id, None, TransitionRequest(CaseStatus.CLOSED, closure))
    with pytest.raises(Conflict):
        assignments.assign(uow, sup, case_id, people["officer"].user_id, None, None)


def test_officer_list_shows_only_their_open_assignments_never_a_colleagues_or_ended_ones(uow, people):
    sup, officer, officer2 = people["supervisor"], people["officer"], people["officer2"]
    mine, theirs, ended = (_open_case(uow, sup, first_name=n) for n in ("Mine", "Theirs", "Ended"))
    assignments.assign(uow, sup, mine, officer.user_id, None, None)
    assignments.assign(uow, sup, theirs, officer2.user_id, None, None)
    gone = assignments.assign(uow, sup, ended, officer.user_id, None, None)
    assignments.end(uow, sup, gone["id"])
    # an officer asking for a colleague's list still gets their own
    listed = assignments.list_assignments(uow, officer, officer_id=officer2.user_id)
    assert [(a["case_id"], a["officer_id"]) for a in listed] == [(mine, officer.user_id)]
    views, total = cases.list_cases(uow, officer, {}, 1, 50)
    assert [v["id"] for v in views] == [mine] and total == 1
    assert len(assignments.list_assignments(uow, sup)) == 2  # a supervisor sees every open one


def test_officer_cannot_read_or_list_alerts_of_a_case_outside_their_caseload(uow, people):
    sup, officer = people["supervisor"], people["officer"]
    other = _open_case(uow, sup, cp=True)
    with pytest.raises(CaseHidden):
        cases.get_case(uow, officer, other)
    with pytest.raises(CaseHidden):
        actions.list_actions(uow, officer, case_id=other)
    assert actions.list_actions(uow, officer) == []
    assert [a["case_id"] for a in actions.list_actions(uow, sup)] == [other]


def test_assigned_to_filter_cannot_widen_an_officers_listing(uow, people):
    sup, officer, officer2 = people["supervisor"], people["officer"], people["officer2"]
    theirs = _open_case(uow, sup)
    assignments.assign(uow, sup, theirs, officer2.user_id, None, None)
    views, total = cases.list_cases(uow, officer, {"assigned_to": officer2.user_id}, 1, 50)
    assert (views, total) == ([], 0)
    views, _ = cases.list_cases(uow, sup, {"assigned_to": officer2.user_id}, 1, 50)
    assert [v["id"] for v in views] == [theirs]

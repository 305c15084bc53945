"""Referrals, enquiries, term dates and accounts on the fake unit of work."""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from server.adapters.access_models import User
from server.domain.access import SYSTEM, Actor
from server.domain.errors import Conflict, Forbidden
from server.domain.lifecycle import CaseStatus, Closure, CloseReason, TransitionRequest
from server.domain.triggers import SOCIAL_CARE_REFERRAL
from server.domain.vocabulary import Role
from server.service import calendar, enquiries, lifecycle, referrals, users
from server.service.access import CaseHidden

from .fakes import FakeUnitOfWork

CHILD = {"first_name": "Zebedee", "last_name": "Quillfeather", "dob": date(2016, 3, 14)}
REFERRAL = {"child": CHILD, "source": "school", "route": "form", "situation": "left_school_no_forwarding_school"}
TERMS = "academic_year,name,start,end\n2026-27,Autumn 1,2026-09-02,2026-10-23\n"


@pytest.fixture()
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


def _actor(uow, username: str, role: Role) -> Actor:
    user = uow.accounts.add(User(username=username, display_name=username, role=role.value, password_hash="x",
                                 active=True, created_at=datetime(2026, 9, 1, tzinfo=UTC)))
    return Actor(user.id, role)


def test_a_referrers_receipt_reveals_no_case_id_or_reference(uow):
    referrer = _actor(uow, "school", Role.REFERRER)
    receipt = referrals.submit_referral(uow, referrer, REFERRAL)
    assert set(receipt) == {"receipt", "received_at"}
    [case] = uow.cases.find()
    assert [r.receipt for r in uow.referrals.for_case(case.id)] == [receipt["receipt"]]
    assert [c["kind"] for c in uow.change_log.for_case(case.id)] == ["created"]


def test_a_receipt_does_not_lead_an_officer_to_a_case_outside_their_caseload(uow):
    sup, officer = _actor(uow, "sam", Role.SUPERVISOR), _actor(uow, "olive", Role.OFFICER)
    receipt = referrals.submit_referral(uow, sup, REFERRAL)
    assert referrals.find_by_receipt(uow, officer, receipt["receipt"].lower()) == []
    assert ("case.denied", receipt["case_id"]) in uow.audit.actions()
    assert [r["case_id"] for r in referrals.find_by_receipt(uow, sup, receipt["receipt"])] == [receipt["case_id"]]


def test_an_enquiry_after_closure_is_kept_and_flagged_not_refused(uow):
    sup = _actor(uow, "sam", Role.SUPERVISOR)
    case_id = referrals.submit_referral(uow, sup, REFERRAL)["case_id"]
    closure = Closure(CloseReason.REFERRAL_UNFOUNDED, school_name="Fictown Primary", on_roll_date=date(2026, 9, 7))
    lifecycle.transition(uow, sup, case_id, None, TransitionRequest(CaseStatus.CLOSED, closure))
    view = enquiries.record_enquiry(uow, sup, case_id, {"kind": "letter", "safeguarding_concern": True})
    assert view["flagged"] == "after_closure"
    assert [e["id"] for e in enquiries.list_enquiries(uow, sup, case_id)] == [view["id"]]
    assert SOCIAL_CARE_REFERRAL.code in {a.code for a in uow.actions.listing(case_ids={case_id})}
    assert uow.change_log.for_case(case_id)[-1]["kind"] == "enquiry:letter"


def test_an_officer_cannot_record_an_enquiry_on_a_case_not_assigned_to_them(uow):
    sup, officer = _actor(uow, "sam", Role.SUPERVISOR), _actor(uow, "olive", Role.OFFICER)
    case_id = referrals.submit_referral(uow, sup, REFERRAL)["case_id"]
    with pytest.raises(CaseHidden):
        enquiries.record_enquiry(uow, officer, case_id, {"kind": "letter"})
    assert uow.enquiries.for_case(case_id) == []


def test_term_dates_loaded_by_the_system_replace_the_year_and_are_audited_as_no_one(uow):
    calendar.load_term_dates(uow, SYSTEM, TERMS, "csv")
    calendar.load_term_dates(uow, SYSTEM, TERMS.replace("Autumn 1", "Autumn one"), "csv")
    assert [t.name for t in calendar.list_terms(uow, SYSTEM, "2026-27")] == ["Autumn one"]
    assert [(e.action, e.actor_id) for e in uow.audit.entries] == [("term_dates.load", None)] * 2


def test_cli_user_creation_acts_as_the_system_and_refuses_a_taken_username(uow):
    user = users.add_user(uow, SYSTEM, "olive", "Olive", Role.OFFICER, "a long enough password")
    assert uow.accounts.get(user.id).username == "olive"
    with pytest.raises(Conflict) as taken:
        users.add_user(uow, SYSTEM, "olive", "Olive 2", Role.OFFICER, "a long enough password")
    assert taken.value.field == "username"


def test_a_supervisor_cannot_create_accounts_through_add_user(uow):
    sup = _actor(uow, "sam", Role.SUPERVISOR)
    with pytest.raises(Forbidden):
        users.add_user(uow, sup, "mallory", "Mallory", Role.ADMIN, "a long enough password")
    assert not uow.accounts.username_taken("mallory")


def test_disabling_an_account_retires_its_devices_as_the_admin_who_disabled_it(uow):
    admin, officer = _actor(uow, "ada", Role.ADMIN), _actor(uow, "olive", Role.OFFICER)
    assert users.set_active(uow, admin, officer.user_id, False)["active"] is False
    assert uow.accounts.retired == [(officer.user_id, admin.user_id)]

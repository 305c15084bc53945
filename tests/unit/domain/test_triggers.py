"""Alerts and tasks the policy raises (DESIGN.md "Triggers"): §11.4, §11.5, §11.6, §11.8, §11.10, §10.5."""
from __future__ import annotations

import itertools
from datetime import date

import pytest

from server.domain.lifecycle import ALLOWED, CaseFacts, CaseStatus, PlaceProblem, TransitionRequest, check_transition
from server.domain.triggers import (
    COMMUNITY_SAFETY_UNIT,
    CONSIDER_SAO,
    LETTER_TO_LAST_ADDRESS,
    S2S_CHECK,
    SOCIAL_CARE_REFERRAL,
    SOCIAL_WORKER_ALERT,
    ActionCategory,
    triggers_for_concern,
    triggers_for_safeguarding,
    triggers_for_situation,
    triggers_for_transition,
)

S = CaseStatus
TODAY = date(2026, 11, 30)
DOB = date(2016, 3, 14)
UNTRACED_TASKS = [S2S_CHECK, LETTER_TO_LAST_ADDRESS, COMMUNITY_SAFETY_UNIT]


# --- §11.4: CP or CIN → alert the social worker immediately ---------------------------------------------------

def test_cp_or_cin_alerts_social_worker() -> None:
    """§11.4: "if the child ... is subject to a CP or CIN plan the social worker ... will be alerted immediately"."""
    assert triggers_for_safeguarding(was_cp_or_cin=False, is_cp_or_cin=True) == [SOCIAL_WORKER_ALERT]
    assert SOCIAL_WORKER_ALERT.category == ActionCategory.ALERT  # an alert, not a routine task
    assert SOCIAL_WORKER_ALERT.policy_ref == "§11.4"
    assert "social worker" in SOCIAL_WORKER_ALERT.title


def test_social_worker_alert_not_repeated_while_plan_continues() -> None:
    """§11.4: the alert is raised when the plan becomes known, not again on every later edit."""
    assert triggers_for_safeguarding(was_cp_or_cin=True, is_cp_or_cin=True) == []


@pytest.mark.parametrize("was", [False, True])
def test_no_plan_no_alert(was: bool) -> None:
    assert triggers_for_safeguarding(was_cp_or_cin=was, is_cp_or_cin=False) == []


# --- §11.6: safeguarding concern → referral to social care ----------------------------------------------------

def test_safeguarding_concern_refers_to_social_care() -> None:
    """§11.6: "if any enquiries return information that indicates safeguarding concerns ... referral to social care"."""
    assert triggers_for_concern(True) == [SOCIAL_CARE_REFERRAL]
    assert SOCIAL_CARE_REFERRAL.policy_ref == "§11.6"
    assert triggers_for_concern(False) == []


# --- untraced → S2S check, letter, Community Safety Unit ------------------------------------------------------

@pytest.mark.parametrize("current", sorted(s for s in CaseStatus if S.UNTRACED in ALLOWED[s]))
def test_untraced_raises_s2s_letter_and_csu(current: CaseStatus) -> None:
    """§11.5/§11.8: check the CTF went to S2S with destination XXXXXXX and a letter went to the last address;
    §11.10: inform the Community Safety Unit, Kent Police."""
    request = TransitionRequest(target=S.UNTRACED)
    found = check_transition(CaseFacts(status=current, dob=DOB), request, TODAY)
    assert found == UNTRACED_TASKS
    assert {t.policy_ref for t in found} == {"§11.5, §11.8", "§11.8", "§11.10"}
    assert "XXXXXXX" in S2S_CHECK.title
    assert "Community Safety Unit" in COMMUNITY_SAFETY_UNIT.title
    assert all(t.category == ActionCategory.TASK for t in found)


# --- §10.5: place delayed or refused → consider an SAO --------------------------------------------------------

@pytest.mark.parametrize("problem", list(PlaceProblem))
@pytest.mark.parametrize(("current", "target"), [
    (S.OPEN, S.AWAITING_SCHOOL_PLACE), (S.AWAITING_SCHOOL_PLACE, S.OPEN), (S.LEGAL_ACTION, S.AWAITING_SCHOOL_PLACE),
])
def test_place_delayed_or_refused_considers_sao(problem: PlaceProblem, current: CaseStatus,
                                                target: CaseStatus) -> None:
    """§10.5: "where there is a delay in securing a school place or a place has been refused ... consider legal
    action", i.e. a School Attendance Order."""
    found = check_transition(CaseFacts(status=current, dob=DOB), TransitionRequest(target=target,
                                                                                   place_problem=problem), TODAY)
    assert found == [CONSIDER_SAO]
    assert CONSIDER_SAO.policy_ref == "§10.5" and "School Attendance Order" in CONSIDER_SAO.title


def test_no_sao_task_without_a_place_problem() -> None:
    assert triggers_for_transition(S.OPEN, S.AWAITING_SCHOOL_PLACE, None) == []


def test_no_sao_task_when_legal_action_already_taken() -> None:
    """§10.5: moving to legal action *is* the SAO step; it does not ask the team to consider one again."""
    assert triggers_for_transition(S.OPEN, S.LEGAL_ACTION, PlaceProblem.REFUSED) == []


def test_refused_or_not_taken_up_situation_considers_sao() -> None:
    """§10.5 / §6.8: a refused place, or one not taken up within 20 school days, is a reason to consider an SAO."""
    assert triggers_for_situation(True) == [CONSIDER_SAO]
    assert triggers_for_situation(False) == []


# --- nothing else raises anything ---------------------------------------------------------------------------

QUIET = [(a, b) for a, b in itertools.product(CaseStatus, CaseStatus)
         if b in ALLOWED[a] and b not in (S.UNTRACED, S.CLOSED) and a != S.CLOSED]


@pytest.mark.parametrize(("current", "target"), QUIET, ids=[f"{a.value}->{b.value}" for a, b in QUIET])
def test_other_moves_raise_nothing(current: CaseStatus, target: CaseStatus) -> None:
    """Alerts are for what the policy names; an ordinary move must not flood the officer's task list."""
    destination = "Kent" if target == S.TRANSFERRED_OUT else None
    found = check_transition(CaseFacts(status=current, dob=DOB),
                             TransitionRequest(target=target, destination=destination), TODAY)
    assert found == []


def test_trigger_codes_are_unique_and_stable() -> None:
    """Actions are stored by code; a client acts on the code, so each is distinct."""
    all_triggers = [SOCIAL_WORKER_ALERT, SOCIAL_CARE_REFERRAL, S2S_CHECK, LETTER_TO_LAST_ADDRESS,
                    COMMUNITY_SAFETY_UNIT, CONSIDER_SAO]
    assert len({t.code for t in all_triggers}) == len(all_triggers)
    assert SOCIAL_WORKER_ALERT.code == "alert_social_worker"
    assert COMMUNITY_SAFETY_UNIT.code == "inform_community_safety_unit"

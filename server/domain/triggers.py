"""Alerts and tasks the policy raises when something happens to a case."""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .lifecycle import CaseStatus, PlaceProblem


class ActionCategory(StrEnum):
    ALERT = "alert"
    TASK = "task"


@dataclass(frozen=True)
class Trigger:
    category: ActionCategory
    code: str
    title: str
    policy_ref: str


SOCIAL_WORKER_ALERT = Trigger(ActionCategory.ALERT, "alert_social_worker",
                              "Alert the allocated social worker now: the child has a CP or CIN plan", "§11.4")
SOCIAL_CARE_REFERRAL = Trigger(ActionCategory.TASK, "refer_to_social_care",
                               "Make a referral to social care: enquiries raised a safeguarding concern", "§11.6")
S2S_CHECK = Trigger(ActionCategory.TASK, "check_s2s_upload",
                    "Check the school uploaded the CTF to S2S with destination XXXXXXX", "§11.5, §11.8")
LETTER_TO_LAST_ADDRESS = Trigger(ActionCategory.TASK, "letter_to_last_known_address",
                                 "Check a letter went to the last known address about removal from roll", "§11.8")
COMMUNITY_SAFETY_UNIT = Trigger(ActionCategory.TASK, "inform_community_safety_unit",
                                "Inform the Community Safety Unit, Kent Police, that the child cannot be traced",
                                "§11.10")
CONSIDER_SAO = Trigger(ActionCategory.TASK, "consider_school_attendance_order",
                       "Consider legal action: a School Attendance Order (place delayed or refused)", "§10.5")


def triggers_for_safeguarding(was_cp_or_cin: bool, is_cp_or_cin: bool) -> list[Trigger]:
    """§11.4: a child on a CP or CIN plan means the social worker is alerted immediately."""
    return [SOCIAL_WORKER_ALERT] if is_cp_or_cin and not was_cp_or_cin else []


def triggers_for_concern(concern_raised: bool) -> list[Trigger]:
    """§11.6: an enquiry that returns a safeguarding concern leads to a referral to social care."""
    return [SOCIAL_CARE_REFERRAL] if concern_raised else []


def triggers_for_transition(current: "CaseStatus", target: "CaseStatus",
                            place_problem: "PlaceProblem | None") -> list[Trigger]:
    from .lifecycle import CaseStatus  # local: lifecycle imports this module

    found: list[Trigger] = []
    if target == CaseStatus.UNTRACED:
        found += [S2S_CHECK, LETTER_TO_LAST_ADDRESS, COMMUNITY_SAFETY_UNIT]
    if place_problem is not None and target in (CaseStatus.AWAITING_SCHOOL_PLACE, CaseStatus.OPEN):
        found.append(CONSIDER_SAO)
    return found


def triggers_for_situation(refused_or_not_taken_up: bool) -> list[Trigger]:
    """§10.5 / §6.8: a refused place or one not taken up is a reason to consider an SAO."""
    return [CONSIDER_SAO] if refused_or_not_taken_up else []

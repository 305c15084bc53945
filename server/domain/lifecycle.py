"""The case lifecycle (DESIGN.md "Lifecycle") and the strict closing rules of the policy.

referred -> open -> awaiting school place / legal action (SAO) / transferred out / untraced -> closed.
Every refusal names the rule that refused it, so a CME officer can see why.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from .errors import ClosureRefused, InvalidInput, TransitionRefused
from .school_age import compulsory_school_age
from .triggers import Trigger, triggers_for_transition


class CaseStatus(StrEnum):
    REFERRED = "referred"
    OPEN = "open"
    AWAITING_SCHOOL_PLACE = "awaiting_school_place"  # §10.3, Fair Access Panel §6.9
    LEGAL_ACTION = "legal_action"  # School Attendance Order §10.5, §5.6.5
    TRANSFERRED_OUT = "transferred_out"  # pending confirmation of enrolment §11.7
    UNTRACED = "untraced"  # §11.8-11.10
    CLOSED = "closed"


class CloseReason(StrEnum):
    ON_ROLL_AT_SCHOOL = "on_roll_at_school"  # §10.4
    SUITABLE_EHE_CONFIRMED = "suitable_ehe_confirmed"  # §7.1
    ENROLLED_IN_OTHER_LA = "enrolled_in_other_la"  # §11.7
    NO_LONGER_OF_COMPULSORY_SCHOOL_AGE = "no_longer_of_compulsory_school_age"  # §11.9
    REFERRAL_UNFOUNDED = "referral_unfounded"  # already on roll


class PlaceProblem(StrEnum):
    DELAYED = "delayed"
    REFUSED = "refused"


S = CaseStatus
ALLOWED: dict[CaseStatus, frozenset[CaseStatus]] = {
    S.REFERRED: frozenset({S.OPEN, S.CLOSED}),
    S.OPEN: frozenset({S.AWAITING_SCHOOL_PLACE, S.LEGAL_ACTION, S.TRANSFERRED_OUT, S.UNTRACED, S.CLOSED}),
    S.AWAITING_SCHOOL_PLACE: frozenset({S.OPEN, S.LEGAL_ACTION, S.UNTRACED, S.CLOSED}),
    S.LEGAL_ACTION: frozenset({S.OPEN, S.AWAITING_SCHOOL_PLACE, S.CLOSED}),
    S.TRANSFERRED_OUT: frozenset({S.OPEN, S.UNTRACED, S.CLOSED}),
    S.UNTRACED: frozenset({S.OPEN, S.CLOSED}),
    S.CLOSED: frozenset({S.OPEN}),
}

# Placing reasons need the child to have been found; untraced cases may close on them only once located (§11.9).
PLACEMENT_REASONS = frozenset({
    CloseReason.ON_ROLL_AT_SCHOOL, CloseReason.SUITABLE_EHE_CONFIRMED, CloseReason.ENROLLED_IN_OTHER_LA,
})


@dataclass(frozen=True)
class Closure:
    reason: CloseReason
    school_name: str | None = None
    on_roll_date: date | None = None
    la_name: str | None = None
    confirmed_on: date | None = None
    enrolment_confirmed: bool = False
    located_on: date | None = None


@dataclass(frozen=True)
class TransitionRequest:
    target: CaseStatus
    closure: Closure | None = None
    place_problem: PlaceProblem | None = None
    destination: str | None = None  # the other LA or country, when transferring out
    note: str | None = None


@dataclass(frozen=True)
class CaseFacts:
    """What the lifecycle needs to know about a case; built by the service layer from storage."""

    status: CaseStatus
    dob: date
    cp: bool = False
    cin: bool = False
    extra: dict = field(default_factory=dict)


def check_transition(facts: CaseFacts, request: TransitionRequest, today: date) -> list[Trigger]:
    """Refuse a transition the policy forbids; otherwise return the alerts and tasks it raises."""
    target = request.target
    if target == facts.status:
        raise TransitionRefused(f"the case is already {target.value}", rule="lifecycle")
    if target not in ALLOWED[facts.status]:
        raise TransitionRefused(
            f"a case that is {facts.status.value} cannot move to {target.value}", rule="lifecycle", field="target")
    if target == S.CLOSED:
        _check_closure(facts, request.closure, today)
    elif request.closure is not None:
        raise InvalidInput("closure details are only given when closing", field="closure")
    if target == S.TRANSFERRED_OUT and not (request.destination or "").strip():
        raise InvalidInput("name the local authority or country the child moved to (§11.7)", field="destination")
    if facts.status == S.CLOSED and not (request.note or "").strip():
        raise InvalidInput("say why the case is reopened", field="note")
    return triggers_for_transition(facts.status, target, request.place_problem)


def _check_closure(facts: CaseFacts, closure: Closure | None, today: date) -> None:
    if closure is None:
        raise ClosureRefused("closing needs a reason the policy allows and its evidence (§5.3)",
                             rule="§5.3", field="closure")
    if facts.status == S.REFERRED and closure.reason != CloseReason.REFERRAL_UNFOUNDED:
        raise ClosureRefused("a referral not yet opened closes only as unfounded; open it first",
                             rule="lifecycle", field="closure.reason")
    if facts.status == S.TRANSFERRED_OUT and closure.reason not in (
            CloseReason.ENROLLED_IN_OTHER_LA, CloseReason.NO_LONGER_OF_COMPULSORY_SCHOOL_AGE):
        raise ClosureRefused("a transferred case stays open until enrolment elsewhere is confirmed (§11.7)",
                             rule="§11.7", field="closure.reason")
    if facts.status == S.UNTRACED:
        _check_untraced_closure(closure)
    _check_evidence(facts, closure, today)


def _check_untraced_closure(closure: Closure) -> None:
    if closure.reason == CloseReason.NO_LONGER_OF_COMPULSORY_SCHOOL_AGE:
        return
    if closure.reason in PLACEMENT_REASONS and closure.located_on is not None:
        return
    raise ClosureRefused(
        "an untraced case stays on the register until the child is located or is no longer of "
        "compulsory school age (§11.9)", rule="§11.9", field="closure.located_on")


def _require(value: object, field_name: str, why: str, rule: str) -> None:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ClosureRefused(why, rule=rule, field=f"closure.{field_name}")


def _not_future(day: date | None, field_name: str, today: date) -> None:
    if day is not None and day > today:
        raise InvalidInput(f"{field_name} cannot be in the future", field=f"closure.{field_name}")


def _check_evidence(facts: CaseFacts, closure: Closure, today: date) -> None:
    reason = closure.reason
    for name in ("on_roll_date", "confirmed_on", "located_on"):
        _not_future(getattr(closure, name), name, today)
    if reason in (CloseReason.ON_ROLL_AT_SCHOOL, CloseReason.REFERRAL_UNFOUNDED):
        _require(closure.school_name, "school_name", "name the school the child is on roll at (§10.4)", "§10.4")
        _require(closure.on_roll_date, "on_roll_date", "give the date the child was placed on roll (§10.4)", "§10.4")
    elif reason == CloseReason.SUITABLE_EHE_CONFIRMED:
        _require(closure.confirmed_on, "confirmed_on",
                 "give the date the EHE team confirmed suitable home education (§7.3)", "§7.3")
    elif reason == CloseReason.ENROLLED_IN_OTHER_LA:
        _require(closure.la_name, "la_name", "name the local authority the child moved to (§11.7)", "§11.7")
        _require(closure.school_name, "school_name",
                 "name the school or provision the child enrolled at (§11.7)", "§11.7")
        if not closure.enrolment_confirmed:
            raise ClosureRefused("notification of a move is not enough: enrolment must be confirmed (§11.7)",
                                 rule="§11.7", field="closure.enrolment_confirmed")
        _require(closure.confirmed_on, "confirmed_on", "give the date enrolment was confirmed (§11.7)", "§11.7")
    elif reason == CloseReason.NO_LONGER_OF_COMPULSORY_SCHOOL_AGE:
        age = compulsory_school_age(facts.dob)
        if today <= age.ends:
            raise ClosureRefused(
                f"the child is of compulsory school age until {age.ends.isoformat()} (§11.9)",
                rule="§11.9", field="closure.reason")

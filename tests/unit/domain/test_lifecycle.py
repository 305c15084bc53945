"""The case lifecycle and the closing rules of the policy (DESIGN.md "Lifecycle"; policy §5.3, §10.4, §11.7, §11.9).

Every refusal names the rule that refused it; these tests assert the `rule` (and `field`) of each one, because a CME
officer reads them to see why the register said no.
"""
from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest

from server.domain.errors import ClosureRefused, InvalidInput, TransitionRefused
from server.domain.lifecycle import (
    ALLOWED,
    CaseFacts,
    CaseStatus,
    Closure,
    CloseReason,
    PlaceProblem,
    TransitionRequest,
    check_transition,
)
from server.domain.school_age import compulsory_school_age

S = CaseStatus
R = CloseReason
TODAY = date(2026, 11, 30)
YESTERDAY = TODAY - timedelta(days=1)
TOMORROW = TODAY + timedelta(days=1)
OF_SCHOOL_AGE = date(2016, 3, 14)  # compulsory school age 2021-03-31 .. 2032-06-25
PAST_SCHOOL_AGE = date(2009, 8, 31)  # ends 2025-06-27 (DESIGN.md worked example)

ON_ROLL = Closure(R.ON_ROLL_AT_SCHOOL, school_name="Fictown Primary", on_roll_date=YESTERDAY)
UNFOUNDED = Closure(R.REFERRAL_UNFOUNDED, school_name="Fictown Primary", on_roll_date=YESTERDAY)
OTHER_LA = Closure(R.ENROLLED_IN_OTHER_LA, la_name="Kent", school_name="Maidstone Academy",
                   enrolment_confirmed=True, confirmed_on=YESTERDAY)
LOCATED_ON_ROLL = Closure(R.ON_ROLL_AT_SCHOOL, school_name="Fictown Primary", on_roll_date=YESTERDAY,
                          located_on=YESTERDAY)
EHE = Closure(R.SUITABLE_EHE_CONFIRMED, confirmed_on=YESTERDAY)
OVER_AGE = Closure(R.NO_LONGER_OF_COMPULSORY_SCHOOL_AGE)


def facts(status: CaseStatus, dob: date = OF_SCHOOL_AGE, **kw) -> CaseFacts:
    return CaseFacts(status=status, dob=dob, **kw)


def valid_request(current: CaseStatus, target: CaseStatus) -> TransitionRequest:
    """The least a request needs to pass when the move itself is allowed."""
    closure = None
    if target == S.CLOSED:
        by_status = {S.REFERRED: UNFOUNDED, S.TRANSFERRED_OUT: OTHER_LA, S.UNTRACED: LOCATED_ON_ROLL}
        closure = by_status.get(current, ON_ROLL)
    destination = "Kent County Council" if target == S.TRANSFERRED_OUT else None
    note = "new information: the family is back at the address" if current == S.CLOSED else None
    return TransitionRequest(target=target, closure=closure, destination=destination, note=note)


def check(current: CaseStatus, request: TransitionRequest, *, dob: date = OF_SCHOOL_AGE, today: date = TODAY):
    return check_transition(facts(current, dob), request, today)


GRID = list(itertools.product(CaseStatus, CaseStatus))


@pytest.mark.parametrize(("current", "target"), GRID, ids=[f"{a.value}->{b.value}" for a, b in GRID])
def test_transition_grid_follows_allowed(current: CaseStatus, target: CaseStatus) -> None:
    """The whole CaseStatus x CaseStatus grid: a move is accepted exactly when ALLOWED lists it."""
    request = valid_request(current, target)
    if target in ALLOWED[current]:
        assert isinstance(check(current, request), list)
        return
    with pytest.raises(TransitionRefused) as refused:
        check(current, request)
    assert not isinstance(refused.value, ClosureRefused)  # refused for the move, not for the closure
    assert refused.value.rule == "lifecycle"
    if target == current:
        assert "already" in refused.value.detail
    else:
        assert refused.value.field == "target"


def test_allowed_table_shape() -> None:
    """Every status has an entry, nothing moves to itself, and every live status can reach closure."""
    assert set(ALLOWED) == set(CaseStatus)
    assert all(status not in targets for status, targets in ALLOWED.items())
    assert all(S.CLOSED in ALLOWED[s] for s in CaseStatus if s != S.CLOSED)
    assert ALLOWED[S.CLOSED] == frozenset({S.OPEN})  # a closed case can only be reopened


# --- §5.3: no case closes without a reason the policy allows ---------------------------------------------------

@pytest.mark.parametrize("current", sorted(s for s in CaseStatus if S.CLOSED in ALLOWED[s]))
def test_no_closure_without_reason(current: CaseStatus) -> None:
    """§5.3: "no case is closed prematurely" — closing with no reason and evidence is refused."""
    with pytest.raises(ClosureRefused) as refused:
        check(current, TransitionRequest(target=S.CLOSED))
    assert refused.value.rule == "§5.3" and refused.value.field == "closure"


def test_closure_details_only_when_closing() -> None:
    with pytest.raises(InvalidInput) as refused:
        check(S.OPEN, TransitionRequest(target=S.AWAITING_SCHOOL_PLACE, closure=ON_ROLL))
    assert refused.value.field == "closure" and refused.value.rule is None


def test_referred_closes_only_as_unfounded() -> None:
    """A referral not yet opened may be closed as unfounded (already on roll), not on any other reason."""
    assert check(S.REFERRED, TransitionRequest(target=S.CLOSED, closure=UNFOUNDED)) == []
    with pytest.raises(ClosureRefused) as refused:
        check(S.REFERRED, TransitionRequest(target=S.CLOSED, closure=ON_ROLL))
    assert refused.value.rule == "lifecycle" and refused.value.field == "closure.reason"


# --- §10.4: on roll needs the school and the date -----------------------------------------------------------

@pytest.mark.parametrize("reason", [R.ON_ROLL_AT_SCHOOL, R.REFERRAL_UNFOUNDED])
@pytest.mark.parametrize(("missing", "closure_kw"), [
    ("school_name", {"on_roll_date": YESTERDAY}),
    ("school_name", {"school_name": "   ", "on_roll_date": YESTERDAY}),  # blank is not a school
    ("on_roll_date", {"school_name": "Fictown Primary"}),
])
def test_on_roll_needs_school_and_date(reason: CloseReason, missing: str, closure_kw: dict) -> None:
    """§10.4: the case closes once the child is on roll at a named school, from a date."""
    current = S.REFERRED if reason == R.REFERRAL_UNFOUNDED else S.OPEN
    with pytest.raises(ClosureRefused) as refused:
        check(current, TransitionRequest(target=S.CLOSED, closure=Closure(reason, **closure_kw)))
    assert refused.value.rule == "§10.4" and refused.value.field == f"closure.{missing}"


@pytest.mark.parametrize("current", [S.OPEN, S.AWAITING_SCHOOL_PLACE, S.LEGAL_ACTION])
def test_on_roll_with_school_and_date_closes(current: CaseStatus) -> None:
    """§10.4: with the school and the date, the case closes and raises nothing."""
    assert check(current, TransitionRequest(target=S.CLOSED, closure=ON_ROLL)) == []


def test_suitable_ehe_needs_confirmation_date() -> None:
    """§7.3: suitable elective home education closes a case once the EHE team has confirmed it."""
    with pytest.raises(ClosureRefused) as refused:
        check(S.OPEN, TransitionRequest(target=S.CLOSED, closure=Closure(R.SUITABLE_EHE_CONFIRMED)))
    assert refused.value.rule == "§7.3" and refused.value.field == "closure.confirmed_on"
    assert check(S.OPEN, TransitionRequest(target=S.CLOSED, closure=EHE)) == []


# --- §11.7: transferred out stays open until enrolment is confirmed --------------------------------------------

def test_transfer_out_needs_destination() -> None:
    """§11.7: the CME team contacts the relevant authority, so the destination must be named."""
    for destination in (None, "  "):
        with pytest.raises(InvalidInput) as refused:
            check(S.OPEN, TransitionRequest(target=S.TRANSFERRED_OUT, destination=destination))
        assert refused.value.field == "destination"


def test_transferred_out_notification_alone_refused() -> None:
    """§11.7: "the case remains open ... until confirmation is received" — a notified move is not enough."""
    notified = Closure(R.ENROLLED_IN_OTHER_LA, la_name="Kent", school_name="Maidstone Academy",
                       confirmed_on=YESTERDAY, enrolment_confirmed=False)
    with pytest.raises(ClosureRefused) as refused:
        check(S.TRANSFERRED_OUT, TransitionRequest(target=S.CLOSED, closure=notified))
    assert refused.value.rule == "§11.7" and refused.value.field == "closure.enrolment_confirmed"


@pytest.mark.parametrize("reason", [R.ON_ROLL_AT_SCHOOL, R.SUITABLE_EHE_CONFIRMED, R.REFERRAL_UNFOUNDED])
def test_transferred_out_closes_only_on_confirmed_enrolment(reason: CloseReason) -> None:
    """§11.7: a transferred case closes on enrolment elsewhere (or leaving school age), not on other reasons."""
    closure = Closure(reason, school_name="Fictown Primary", on_roll_date=YESTERDAY, confirmed_on=YESTERDAY)
    with pytest.raises(ClosureRefused) as refused:
        check(S.TRANSFERRED_OUT, TransitionRequest(target=S.CLOSED, closure=closure))
    assert refused.value.rule == "§11.7" and refused.value.field == "closure.reason"


@pytest.mark.parametrize(("missing", "closure"), [
    ("la_name", Closure(R.ENROLLED_IN_OTHER_LA, school_name="Maidstone Academy", enrolment_confirmed=True,
                        confirmed_on=YESTERDAY)),
    ("school_name", Closure(R.ENROLLED_IN_OTHER_LA, la_name="Kent", enrolment_confirmed=True,
                            confirmed_on=YESTERDAY)),
    ("confirmed_on", Closure(R.ENROLLED_IN_OTHER_LA, la_name="Kent", school_name="Maidstone Academy",
                             enrolment_confirmed=True)),
])
def test_enrolled_elsewhere_needs_its_evidence(missing: str, closure: Closure) -> None:
    """§11.7: the other LA, the school and the date of confirmation are all recorded."""
    with pytest.raises(ClosureRefused) as refused:
        check(S.TRANSFERRED_OUT, TransitionRequest(target=S.CLOSED, closure=closure))
    assert refused.value.rule == "§11.7" and refused.value.field == f"closure.{missing}"


def test_transferred_out_closes_on_confirmed_enrolment() -> None:
    """§11.7: once enrolment in the new area is confirmed, Medway ceases responsibility."""
    assert check(S.TRANSFERRED_OUT, TransitionRequest(target=S.CLOSED, closure=OTHER_LA)) == []


def test_transferred_out_closes_when_past_school_age() -> None:
    """§11.7/§11.9: a transferred child who is past compulsory school age may be closed."""
    assert check(S.TRANSFERRED_OUT, TransitionRequest(target=S.CLOSED, closure=OVER_AGE), dob=PAST_SCHOOL_AGE) == []


# --- §11.9: untraced closes only when located or past compulsory school age ------------------------------------

@pytest.mark.parametrize("closure", [ON_ROLL, OTHER_LA, EHE, UNFOUNDED],
                         ids=["on_roll", "other_la", "ehe", "unfounded"])
def test_untraced_not_closed_unless_located(closure: Closure) -> None:
    """§11.9: "the case will remain on the CME database until the child is located ..." """
    with pytest.raises(ClosureRefused) as refused:
        check(S.UNTRACED, TransitionRequest(target=S.CLOSED, closure=closure))
    assert refused.value.rule == "§11.9" and refused.value.field == "closure.located_on"


def test_untraced_unfounded_refused_even_with_located_date() -> None:
    """§11.9: "unfounded" is not a placement; an untraced child closes on being placed once located."""
    closure = Closure(R.REFERRAL_UNFOUNDED, school_name="X", on_roll_date=YESTERDAY, located_on=YESTERDAY)
    with pytest.raises(ClosureRefused) as refused:
        check(S.UNTRACED, TransitionRequest(target=S.CLOSED, closure=closure))
    assert refused.value.rule == "§11.9"


def test_untraced_closes_once_located_and_placed() -> None:
    """§11.9: located (with a date) and on roll → the case may close."""
    assert check(S.UNTRACED, TransitionRequest(target=S.CLOSED, closure=LOCATED_ON_ROLL)) == []


def test_untraced_located_still_needs_placement_evidence() -> None:
    """§11.9 with §10.4: being located is not enough on its own; the school and date are still required."""
    closure = Closure(R.ON_ROLL_AT_SCHOOL, located_on=YESTERDAY)
    with pytest.raises(ClosureRefused) as refused:
        check(S.UNTRACED, TransitionRequest(target=S.CLOSED, closure=closure))
    assert refused.value.rule == "§10.4"


@pytest.mark.parametrize("current", [S.UNTRACED, S.OPEN])
def test_school_age_closure_refused_while_of_compulsory_school_age(current: CaseStatus) -> None:
    """§11.9: "... or is no longer statutory school age" — not while the child is still of that age."""
    with pytest.raises(ClosureRefused) as refused:
        check(current, TransitionRequest(target=S.CLOSED, closure=OVER_AGE))
    assert refused.value.rule == "§11.9" and refused.value.field == "closure.reason"
    assert "2032-06-25" in refused.value.detail  # tells the officer when it ends


def test_school_age_closure_boundary_is_the_leaving_date() -> None:
    """§11.9 / Education Act 1996 s.8: the child is of compulsory school age up to and including the leaving date."""
    ends = compulsory_school_age(PAST_SCHOOL_AGE).ends
    assert ends == date(2025, 6, 27)
    request = TransitionRequest(target=S.CLOSED, closure=OVER_AGE)
    with pytest.raises(ClosureRefused) as refused:
        check(S.UNTRACED, request, dob=PAST_SCHOOL_AGE, today=ends)
    assert refused.value.rule == "§11.9"
    assert check(S.UNTRACED, request, dob=PAST_SCHOOL_AGE, today=ends + timedelta(days=1)) == []


# --- dates in the future are refused --------------------------------------------------------------------------

@pytest.mark.parametrize(("current", "closure", "name"), [
    (S.OPEN, Closure(R.ON_ROLL_AT_SCHOOL, school_name="Fictown Primary", on_roll_date=TOMORROW), "on_roll_date"),
    (S.OPEN, Closure(R.SUITABLE_EHE_CONFIRMED, confirmed_on=TOMORROW), "confirmed_on"),
    (S.TRANSFERRED_OUT, Closure(R.ENROLLED_IN_OTHER_LA, la_name="Kent", school_name="M", enrolment_confirmed=True,
                                confirmed_on=TOMORROW), "confirmed_on"),
    (S.UNTRACED, Closure(R.ON_ROLL_AT_SCHOOL, school_name="F", on_roll_date=YESTERDAY, located_on=TOMORROW),
     "located_on"),
])
def test_future_evidence_dates_refused(current: CaseStatus, closure: Closure, name: str) -> None:
    """§5.3: a case closes on what has happened, not on what is expected to happen."""
    with pytest.raises(InvalidInput) as refused:
        check(current, TransitionRequest(target=S.CLOSED, closure=closure))
    assert refused.value.field == f"closure.{name}" and refused.value.status == 422
    assert refused.value.rule is None


def test_evidence_dated_today_is_accepted() -> None:
    closure = Closure(R.ON_ROLL_AT_SCHOOL, school_name="Fictown Primary", on_roll_date=TODAY)
    assert check(S.OPEN, TransitionRequest(target=S.CLOSED, closure=closure)) == []


# --- reopening ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("note", [None, "", "   "])
def test_reopen_needs_a_note(note: str | None) -> None:
    """A closed case reopens only with a note saying why (§5.3: the history of the case stays explained)."""
    with pytest.raises(InvalidInput) as refused:
        check(S.CLOSED, TransitionRequest(target=S.OPEN, note=note))
    assert refused.value.field == "note" and refused.value.rule is None


def test_reopen_with_note_is_allowed() -> None:
    assert check(S.CLOSED, TransitionRequest(target=S.OPEN, note="seen at a new address")) == []


def test_closed_cannot_move_elsewhere_even_with_note() -> None:
    with pytest.raises(TransitionRefused) as refused:
        check(S.CLOSED, TransitionRequest(target=S.UNTRACED, note="why"))
    assert refused.value.rule == "lifecycle" and refused.value.field == "target"


def test_refusals_are_409_and_closure_refusals_are_transition_refusals() -> None:
    """The API maps these to 409 problems carrying `rule`; closure refusals are a kind of transition refusal."""
    assert TransitionRefused.status == 409 and ClosureRefused.status == 409
    assert issubclass(ClosureRefused, TransitionRefused)
    assert ClosureRefused.code != TransitionRefused.code


def test_place_problem_is_accepted_on_allowed_moves() -> None:
    """§10.5: recording a delayed or refused place does not block the move itself."""
    for problem in PlaceProblem:
        assert check(S.OPEN, TransitionRequest(target=S.AWAITING_SCHOOL_PLACE, place_problem=problem))

"""The case aggregate without a database: a plain dataclass stands in for the register's case record."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import pytest

from server.domain import case as aggregate
from server.domain.errors import ClosureRefused, InvalidInput, TransitionRefused
from server.domain.lifecycle import CaseStatus, Closure, CloseReason, TransitionRequest
from server.domain.triggers import Trigger

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
TODAY = date(2026, 11, 20)


@dataclass
class Carer:
    name: str
    id: int | None = None
    relationship_to_child: str | None = None
    parental_responsibility: bool = False
    phone: str | None = None
    email: str | None = None


@dataclass
class Case:
    id: int = 1
    version: int = 1
    status: str = "open"
    dob: date = date(2016, 3, 14)
    cp: bool = False
    cin: bool = False
    cic: bool = False
    updated_at: datetime = NOW
    closed_at: datetime | None = None
    close_reason: str | None = None
    close_evidence: dict | None = None
    transfer_destination: str | None = None
    first_name: str = "Zebedee"
    last_name: str = "Quillfeather"
    upn: str | None = None
    contact_phone: str | None = None
    address_line1: str | None = None
    address_line2: str | None = None
    address_town: str | None = None
    address_postcode: str | None = None
    carers: list = field(default_factory=list)
    siblings: list = field(default_factory=list)
    past_addresses: list = field(default_factory=list)

    def new_carer(self, name: str) -> Carer:
        return Carer(name=name)

    def replace_carers(self, carers: list) -> None:
        self.carers = carers

    def replace_siblings(self, siblings: list[dict]) -> None:
        self.siblings = list(siblings)

    def record_past_address(self, address: dict, to_date: date, source: str) -> None:
        self.past_addresses.append((address, to_date, source))

    def __getattr__(self, name: str):  # the §9.3 fields this test does not set read as unset
        if name in aggregate.SCALAR_FIELDS:
            return None
        raise AttributeError(name)


def test_bump_version_counts_every_write_and_stamps_it():
    case = Case(version=3)
    assert aggregate.bump_version(case, NOW) == 4 and case.version == 4 and case.updated_at == NOW


def test_edit_names_only_the_fields_that_changed():
    case = Case(contact_phone="01632 960000")
    assert aggregate.edit(case, {"contact_phone": "01632 960000", "first_name": "Zeb"}, TODAY) == ["first_name"]
    assert case.first_name == "Zeb"


def test_a_new_address_keeps_the_old_one_in_the_history():
    case = Case(address_line1="1 Old Road", address_postcode="ZZ1 1AA")
    new = {"line1": "2 New Road", "town": "Fictown", "postcode": "ZZ2 2BB"}
    assert aggregate.edit(case, {"current_address": new}, TODAY) == ["current_address"]
    assert aggregate.current_address(case) == {"line1": "2 New Road", "line2": None, "town": "Fictown",
                                               "postcode": "ZZ2 2BB"}
    assert case.past_addresses == [({"line1": "1 Old Road", "line2": None, "town": None, "postcode": "ZZ1 1AA"},
                                     TODAY, "superseded")]
    assert aggregate.edit(case, {"current_address": new}, TODAY) == []  # the same address again changes nothing


def test_a_carers_phone_is_edited_by_path_and_an_unknown_carer_is_refused():
    case = Case(carers=[Carer(name="Marigold", id=7, phone="07700 900123")])
    assert aggregate.edit(case, {"carers.7.phone": "07700 900999"}, TODAY) == ["carers.7.phone"]
    assert aggregate.field_value(case, "carers.7.phone") == "07700 900999"
    with pytest.raises(InvalidInput) as refused:
        aggregate.edit(case, {"carers.8.phone": "07700 900000"}, TODAY)
    assert refused.value.field == "carers.8.phone"
    with pytest.raises(InvalidInput):
        aggregate.edit(case, {"carers": [{"id": 99, "name": "Nobody"}]}, TODAY)


def test_replacing_carers_keeps_the_known_ones_and_makes_new_ones():
    marigold = Carer(name="Marigold", id=7)
    case = Case(carers=[marigold])
    aggregate.edit(case, {"carers": [{"id": 7, "name": "Marigold Q", "parental_responsibility": True},
                                     {"name": "Basil"}]}, TODAY)
    assert case.carers[0] is marigold and marigold.name == "Marigold Q" and marigold.parental_responsibility
    assert case.carers[1].name == "Basil" and case.carers[1].id is None


def test_closing_records_the_reason_and_evidence_and_ends_assignments():
    case = Case()
    closure = Closure(reason=CloseReason.ON_ROLL_AT_SCHOOL, school_name="Fictown Academy",
                      on_roll_date=date(2026, 11, 16))
    moved = aggregate.transition(case, TransitionRequest(CaseStatus.CLOSED, closure=closure), TODAY, NOW)
    assert aggregate.is_closed(case) and case.closed_at == NOW and case.close_reason == "on_roll_at_school"
    assert case.close_evidence == {"reason": "on_roll_at_school", "school_name": "Fictown Academy",
                                   "on_roll_date": "2026-11-16", "enrolment_confirmed": False}
    assert moved.kind == "status:open->closed" and moved.ends_assignments
    assert moved.fields == ["status", "closed_at", "close_reason"]


def test_closing_without_the_evidence_the_policy_asks_is_refused_and_changes_nothing():
    case = Case()
    with pytest.raises(ClosureRefused) as refused:
        aggregate.transition(case, TransitionRequest(CaseStatus.CLOSED, closure=Closure(
            reason=CloseReason.ON_ROLL_AT_SCHOOL)), TODAY, NOW)
    assert refused.value.rule == "§10.4" and case.status == "open" and case.closed_at is None


def test_reopening_clears_the_closure_and_needs_a_note():
    case = Case(status="closed", closed_at=NOW, close_reason="on_roll_at_school", close_evidence={"x": 1})
    with pytest.raises(InvalidInput):
        aggregate.transition(case, TransitionRequest(CaseStatus.OPEN), TODAY, NOW)
    moved = aggregate.transition(case, TransitionRequest(CaseStatus.OPEN, note="placement broke down"), TODAY, NOW)
    assert case.status == "open" and case.closed_at is None and case.close_reason is None
    assert not moved.ends_assignments and not aggregate.is_closed(case)


def test_a_transfer_out_names_where_and_untraced_raises_its_tasks():
    case = Case()
    moved = aggregate.transition(case, TransitionRequest(CaseStatus.TRANSFERRED_OUT, destination="Kent"),
                                 TODAY, NOW)
    assert case.transfer_destination == "Kent" and "transfer_destination" in moved.fields
    untraced = aggregate.transition(Case(), TransitionRequest(CaseStatus.UNTRACED), TODAY, NOW)
    assert untraced.triggers and all(isinstance(t, Trigger) for t in untraced.triggers)


def test_a_move_the_lifecycle_forbids_is_refused():
    with pytest.raises(TransitionRefused):
        aggregate.transition(Case(status="referred"), TransitionRequest(CaseStatus.UNTRACED), TODAY, NOW)

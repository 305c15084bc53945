"""Wire schemas of the case resource (input validated strictly: unknown fields are refused)."""
from __future__ import annotations

from datetime import date

import marshmallow as ma
from marshmallow import fields as f
from marshmallow import validate as v

from ..domain.lifecycle import CaseStatus, CloseReason, PlaceProblem
from ..domain.school_age import dob_problem
from ..service.clock import today
from ..domain.vocabulary import RiskFactor, SenStatus, VulnerableGroup
from sync.text import instant_problem, text_problem

POSTCODE = r"^[A-Za-z]{1,2}[0-9][A-Za-z0-9]? ?[0-9][A-Za-z]{2}$"
PHONE = r"^[0-9 +()\-]{7,20}$"


def _plain(multiline: bool):
    """The one judge of acceptable text (`sync.text`), as ops are judged: a referrer's "\x1b[2J" in a name would
    act on an officer's terminal; "[/]" is just text and passes."""
    def check(value: str) -> None:
        problem = text_problem(value, multiline=multiline)
        if problem:
            raise ma.ValidationError(f"text {problem}")
    return check


def text(n: int, **kw):
    """Prose (notes, history): line breaks and tabs allowed, no other control or format characters."""
    return f.String(validate=[v.Length(max=n), _plain(multiline=True)], **kw)


def line(n: int, least: int = 0, **kw):
    """One line of text (a name, a school, an address part): no line breaks either."""
    return f.String(validate=[v.Length(least or None, n), _plain(multiline=False)], **kw)


def choice(enum, **kw):
    return f.String(validate=v.OneOf([e.value for e in enum]), **kw)


# The statutory calendar (school age, bank holidays, school-day counts) is defined for these years; a date outside
# them is a typing slip (0016 for 2016), and counting school days from it would overflow.
EARLIEST_DAY, LATEST_DAY = date(1900, 1, 1), date(2100, 12, 31)


def day(**kw):
    """An input date within the years the register reasons about."""
    return f.Date(validate=v.Range(EARLIEST_DAY, LATEST_DAY, error="must be between {min} and {max}"), **kw)


def _plausible_instant(value) -> None:
    problem = instant_problem(value)  # the push judges op instants the same way
    if problem:
        raise ma.ValidationError(f"date-time {problem} (in UTC)")


def instant(**kw):
    """A date-time with offset, within the years instants are accepted (0001-01-01T00:00:00+01:00 has no UTC
    value: storing it overflowed into a 500)."""
    return f.AwareDateTime(validate=_plausible_instant, **kw)


class AddressSchema(ma.Schema):
    line1 = line(200, 1, required=True)
    line2 = line(200, allow_none=True)
    town = line(100, allow_none=True)
    postcode = f.String(required=True, validate=v.Regexp(POSTCODE, error="not a UK postcode"))


class CarerSchema(ma.Schema):
    id = f.Integer(allow_none=True, validate=v.Range(1, 2**53))
    name = line(200, 1, required=True)
    relationship = line(60, allow_none=True)
    parental_responsibility = f.Boolean(load_default=False)
    phone = f.String(allow_none=True, validate=v.Regexp(PHONE, error="not a phone number"))
    email = f.Email(allow_none=True, validate=v.Length(max=200))


class SiblingSchema(ma.Schema):
    id = f.Integer(dump_only=True)
    name = line(200, 1, required=True)
    dob = day(allow_none=True)
    school = line(200, allow_none=True)


class ChildFieldsSchema(ma.Schema):
    """The §9.3 fields of a case, as sent by a supervisor or in a referral."""

    first_name = line(100, 1, required=True)
    last_name = line(100, 1, required=True)
    preferred_name = line(100, allow_none=True)
    dob = day(required=True)
    gender = line(30, allow_none=True)
    ethnicity = line(60, allow_none=True)
    eal = f.Boolean()
    upn = line(13, allow_none=True)
    fsm = f.Boolean()
    sen_status = choice(SenStatus)
    ehe_history = text(4000, allow_none=True)
    cp = f.Boolean()
    cin = f.Boolean()
    cic = f.Boolean()
    social_worker = line(200, allow_none=True)
    other_safeguarding = text(4000, allow_none=True)
    risk_factors = f.List(choice(RiskFactor), validate=v.Length(max=len(RiskFactor)))
    vulnerable_groups = f.List(choice(VulnerableGroup), validate=v.Length(max=len(VulnerableGroup)))
    current_address = f.Nested(AddressSchema, allow_none=True)
    contact_phone = f.String(allow_none=True, validate=v.Regexp(PHONE, error="not a phone number"))
    contact_email = f.Email(allow_none=True, validate=v.Length(max=200))
    carers = f.List(f.Nested(CarerSchema), validate=v.Length(max=20))
    siblings = f.List(f.Nested(SiblingSchema), validate=v.Length(max=20))
    last_school_name = line(200, allow_none=True)
    last_school_urn = f.String(allow_none=True, validate=v.Regexp(r"^[0-9]{6,7}$", error="not a URN"))
    on_roll_date = day(allow_none=True)
    off_roll_date = day(allow_none=True)
    first_day_of_absence = day(allow_none=True)
    referral_accepted_on = day(allow_none=True)
    place_offered_on = day(allow_none=True)
    place_accepted_on = day(allow_none=True)
    exclusion_start = day(allow_none=True)

    @ma.validates("dob")
    def _a_child_of_the_register(self, value: date, **_) -> None:
        # The domain's rule (school_age.dob_problem), here so a referral names its field `child.dob`.
        problem = dob_problem(value, today())
        if problem:
            raise ma.ValidationError(f"date of birth {problem}")


class CaseUpdateSchema(ChildFieldsSchema):
    """Any subset of the case fields; use an instance made with partial=True. A DOB is judged by the service,
    and only when it changes: an old case's child may be past the register's bounds by now."""

    def _a_child_of_the_register(self, value: date, **_) -> None:
        return None


class DeadlineSchema(ma.Schema):
    code = f.String()
    label = f.String()
    policy_ref = f.String()
    due = f.Date()
    estimated = f.Boolean()
    met = f.Boolean(allow_none=True)
    overdue = f.Boolean()
    note = f.String()
    convention = f.String(metadata={"description": (
        "How `due` was counted, in words. \"By day N of absence\" (AO consulted, day 5; CME referral, day 10; "
        "earliest removal from roll, day 20) and \"by day N of exclusion\" (day 6) count the first day of absence "
        "or exclusion as day 1 when it is a school day (otherwise day 1 is the next school day). \"N school days "
        "after\" an event (an offered place, 20; an on/off-roll notification, 5) does not count the event's own "
        "day. School days are the council's term dates less England bank holidays; `estimated` is true where "
        "weekdays stood in for missing term dates.")})


class SchoolAgeSchema(ma.Schema):
    starts = f.Date()
    ends = f.Date()
    applies_today = f.Boolean()


class CaseAssignmentSchema(ma.Schema):
    id = f.Integer(dump_only=True)
    case_id = f.Integer(required=True, validate=v.Range(1, 2**53))
    officer_id = f.Integer(required=True, validate=v.Range(1, 2**53))
    assigned_by = f.Integer(dump_only=True)
    due = day(allow_none=True)
    instructions = text(2000, allow_none=True)
    created_at = f.DateTime(dump_only=True)
    ended_at = f.DateTime(dump_only=True, allow_none=True)
    acknowledged_at = f.DateTime(dump_only=True, allow_none=True)


class AddressHistorySchema(AddressSchema):
    line2 = f.String(allow_none=True)
    postcode = f.String(allow_none=True)
    from_date = f.Date(allow_none=True)
    to_date = f.Date(allow_none=True)
    source = f.String(allow_none=True)


class CaseSchema(ChildFieldsSchema):
    id = f.Integer()
    reference = f.String()
    version = f.Integer()
    status = choice(CaseStatus)
    created_at = f.DateTime()
    updated_at = f.DateTime()
    closed_at = f.DateTime(allow_none=True)
    close_reason = f.String(allow_none=True)
    close_evidence = f.Dict(allow_none=True)
    transfer_destination = f.String(allow_none=True)
    address_history = f.List(f.Nested(AddressHistorySchema))
    compulsory_school_age = f.Nested(SchoolAgeSchema)
    deadlines = f.List(f.Nested(DeadlineSchema))
    overdue = f.List(f.String())
    assignments = f.List(f.Nested(CaseAssignmentSchema))
    carers = f.List(f.Nested(CarerSchema))
    siblings = f.List(f.Nested(SiblingSchema))


class CaseQuerySchema(ma.Schema):
    status = choice(CaseStatus)
    reference = line(20)
    assigned_to = f.Integer(validate=v.Range(1, 2**53))
    overdue = f.Boolean()


class ClosureSchema(ma.Schema):
    reason = choice(CloseReason, required=True)
    school_name = line(200, allow_none=True)
    on_roll_date = day(allow_none=True)
    la_name = line(200, allow_none=True)
    confirmed_on = day(allow_none=True)
    enrolment_confirmed = f.Boolean(load_default=False)
    located_on = day(allow_none=True)


class TransitionSchema(ma.Schema):
    target = choice(CaseStatus, required=True)
    closure = f.Nested(ClosureSchema, allow_none=True)
    place_problem = choice(PlaceProblem, allow_none=True)
    destination = line(200, allow_none=True)
    note = text(2000, allow_none=True)

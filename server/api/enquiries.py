"""/api/cases/<id>/enquiries: home visits, address checks, partner checks and letters (append-only)."""
from __future__ import annotations

from datetime import timedelta

import marshmallow as ma
from marshmallow import fields as f
from marshmallow import validate as v
from flask_smorest import Blueprint

from sync.conflicts import validate_address
from sync.ops import judge_fact
from sync.vocabulary import AddressCheckResult, AddressCheckSource, OpKind, PartnerCheckAgency, VisitOutcome
from ..domain.vocabulary import EnquiryKind
from ..service import enquiries
from ..service.clock import utcnow
from .case_schemas import choice, instant, text
from .requests import BEARER, run

blp = Blueprint("enquiries", __name__, url_prefix="/api/cases", description="Enquiries made on a case")

# An enquiry recorded here cannot have happened later than now; a few minutes' clock skew is tolerated. (Visits
# pushed from devices carry device time and are judged by the sync rules, not by this schema.)
FUTURE_TOLERANCE = timedelta(minutes=10)
OUTCOMES = [e.value for e in VisitOutcome] + [e.value for e in AddressCheckResult]
SOURCES = [e.value for e in AddressCheckSource] + [e.value for e in PartnerCheckAgency]


class EnquiryInputSchema(ma.Schema):
    kind = choice(EnquiryKind, required=True)
    occurred_at = instant(allow_none=True)
    outcome = f.String(allow_none=True, validate=v.OneOf(OUTCOMES))
    source = f.String(allow_none=True, validate=v.OneOf(SOURCES))
    notes = text(4000, allow_none=True)
    notice_left = f.Boolean(allow_none=True)
    person_spoken_to = text(200, allow_none=True)
    new_address = f.Dict(allow_none=True, metadata={"description": "{line1, line2, town, postcode}: line1, town "
                                                                   "and postcode required, as on a pushed visit"})
    letter_type = text(100, allow_none=True)
    safeguarding_concern = f.Boolean(load_default=False)

    @ma.validates("occurred_at")
    def _not_in_future(self, value, **_):
        if value is not None and value > utcnow() + FUTURE_TOLERANCE:
            raise ma.ValidationError("an enquiry cannot have happened in the future")

    @ma.validates_schema
    def _by_kind(self, data, **_):
        kind = data["kind"]
        if kind in FACTS:  # judged by the sync rules, as the same visit or check pushed from a device is
            problems = judge_fact(FACTS[kind].op_kind, as_op_payload(data))
            if problems:
                raise ma.ValidationError({FACTS[kind].http_field(p.field): [p.message] for p in problems})
            return
        if kind == EnquiryKind.PARTNER_CHECK and data.get("source") not in {e.value for e in PartnerCheckAgency}:
            raise ma.ValidationError("a partner check names the agency", field_name="source")
        problems = validate_address(data["new_address"], "new_address") if data.get("new_address") else []
        if problems:
            raise ma.ValidationError({p.field: [p.message] for p in problems})


class Fact:
    """How an enquiry's HTTP fields are named in the op payload that records the same fact."""

    def __init__(self, op_kind: OpKind, renamed: dict[str, str]) -> None:
        self.op_kind, self.renamed = op_kind.value, renamed
        self.back = {op: http for http, op in renamed.items()}

    def http_field(self, path: str) -> str:
        head, _, rest = path.removeprefix("payload.").partition(".")
        return ".".join(filter(None, (self.back.get(head, head), rest)))


FACTS = {
    EnquiryKind.HOME_VISIT: Fact(OpKind.record_home_visit, {"occurred_at": "visited_at"}),
    EnquiryKind.ADDRESS_CHECK: Fact(OpKind.record_address_check, {"occurred_at": "checked_at",
                                                                  "outcome": "result"}),
}
VISIT_FIELDS = {"outcome", "notice_left", "notes", "person_spoken_to", "new_address"}
CHECK_FIELDS = {"source", "outcome", "notes", "new_address"}


def as_op_payload(data: dict) -> dict:
    """The enquiry as the payload of the op a device would push (unset fields left out; "now" when undated)."""
    kind = data["kind"]
    fields = VISIT_FIELDS if kind == EnquiryKind.HOME_VISIT else CHECK_FIELDS
    payload = {FACTS[kind].renamed.get(name, name): data[name] for name in fields if data.get(name) is not None}
    payload[FACTS[kind].renamed["occurred_at"]] = (data.get("occurred_at") or utcnow()).isoformat()
    return payload


class PhotoSchema(ma.Schema):
    id = f.Integer()
    enquiry_id = f.Integer()
    case_id = f.Integer()
    sha256 = f.String()
    size = f.Integer()
    content_type = f.String()
    caption = f.String(allow_none=True)


class EnquirySchema(ma.Schema):
    id = f.Integer()
    case_id = f.Integer()
    kind = f.String()
    occurred_at = f.DateTime()
    recorded_at = f.DateTime()
    actor_id = f.Integer()
    device_id = f.Integer(allow_none=True)
    op_id = f.String(allow_none=True)
    outcome = f.String(allow_none=True)
    source = f.String(allow_none=True)
    notes = f.String(allow_none=True)
    details = f.Dict()
    safeguarding_concern = f.Boolean()
    flagged = f.String(allow_none=True)
    photos = f.List(f.Nested(PhotoSchema), metadata={"description": "fetch each at /api/photos/{id}"})


@blp.route("/<int:case_id>/enquiries", methods=["POST"])
@blp.arguments(EnquiryInputSchema)
@blp.response(201, EnquirySchema)
@blp.doc(security=BEARER)
def record(data, case_id: int):
    """Record an enquiry; a safeguarding concern raises a task to refer to social care (§11.6)."""
    return run(enquiries.record_enquiry, case_id, data), 201


@blp.route("/<int:case_id>/enquiries", methods=["GET"])
@blp.response(200, EnquirySchema(many=True))
@blp.doc(security=BEARER)
def list_for_case(case_id: int):
    """The enquiries on a case, oldest first."""
    return run(enquiries.list_enquiries, case_id)

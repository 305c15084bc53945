"""/api/referrals: schools, partners and the public refer a child; the receipt reveals nothing of the register."""
from __future__ import annotations

import re

import marshmallow as ma
from marshmallow import fields as f
from marshmallow import validate as v
from flask_smorest import Blueprint

from ..domain.vocabulary import ReferralRoute, ReferralSource, Situation
from ..service import referrals
from .case_schemas import ChildFieldsSchema, choice, instant, line, text
from .requests import BEARER, run

blp = Blueprint("referrals", __name__, url_prefix="/api", description="Referrals to the CME team (§9)")


class ReferralInputSchema(ma.Schema):
    case_id = f.Integer(validate=v.Range(1, 2**53), allow_none=True)
    child = f.Nested(ChildFieldsSchema, allow_none=True)
    source = choice(ReferralSource, required=True)
    route = choice(ReferralRoute, required=True)
    situation = choice(Situation, required=True)
    received_at = instant(allow_none=True)
    referrer_name = line(200, allow_none=True)
    referrer_contact = line(200, allow_none=True)
    details = text(8000, allow_none=True)

    @ma.validates_schema
    def _child_or_case(self, data, **_):
        if (data.get("case_id") is None) == (data.get("child") is None):
            raise ma.ValidationError("give either the child's details or the id of an existing case",
                                     field_name="child")


class ReceiptSchema(ma.Schema):
    receipt = f.String(required=True, metadata={"description": "random, e.g. CME-7KQ4-M2XD: quote it to follow up"})
    received_at = f.DateTime(required=True)
    referral_id = f.Integer(metadata={"description": "staff only"})
    case_id = f.Integer(metadata={"description": "staff only"})
    case_reference = f.String(metadata={"description": "staff only"})


class ReceiptQuerySchema(ma.Schema):
    receipt = f.String(required=True, validate=v.Regexp(referrals.RECEIPT_PATTERN, flags=re.IGNORECASE,
                                                        error="a receipt looks like CME-7KQ4-M2XD"))


class ReferralSchema(ma.Schema):
    id = f.Integer()
    case_id = f.Integer()
    source = f.String()
    route = f.String()
    situation = f.String()
    received_at = f.DateTime()
    referrer_name = f.String(allow_none=True)
    referrer_contact = f.String(allow_none=True)
    details = f.String(allow_none=True)
    receipt = f.String()


@blp.route("/referrals", methods=["GET"])
@blp.arguments(ReceiptQuerySchema, location="query")
@blp.response(200, ReferralSchema(many=True))
@blp.doc(security=BEARER)
def find(query):
    """The referral a receipt names (a referrer phoning to follow up quotes it); empty if none you may see."""
    return run(referrals.find_by_receipt, query["receipt"])


@blp.route("/referrals", methods=["POST"])
@blp.arguments(ReferralInputSchema)
@blp.response(201, ReceiptSchema)
@blp.doc(security=BEARER)
def submit(data):
    """Refer a child (a new case in state referred) or add a referral to an existing case."""
    return run(referrals.submit_referral, data), 201


@blp.route("/cases/<int:case_id>/referrals", methods=["GET"])
@blp.response(200, ReferralSchema(many=True))
@blp.doc(security=BEARER)
def list_for_case(case_id: int):
    """The referrals on a case."""
    return run(referrals.list_referrals, case_id)

"""/api/review: conflicts and quarantined ops from the field, for supervisors to resolve."""
from __future__ import annotations

import marshmallow as ma
from marshmallow import fields as f
from marshmallow import validate as v
from flask_smorest import Blueprint

from ..service import review
from .requests import BEARER, run

blp = Blueprint("review", __name__, url_prefix="/api/review", description="The supervisor's review queue")


class ReviewQuerySchema(ma.Schema):
    open = f.Boolean(load_default=True)
    case_id = f.Integer(validate=v.Range(1, 2**53))


class ResolveSchema(ma.Schema):
    decision = f.String(required=True, validate=v.OneOf(["accept", "reject", "pick"]))
    note = f.String(allow_none=True, validate=v.Length(max=2000))
    choices = f.Dict(keys=f.String(validate=v.Length(max=100)),
                     values=f.String(validate=v.OneOf(["server", "device"])), allow_none=True)


class ReviewItemSchema(ma.Schema):
    id = f.Integer()
    op_id = f.String()
    device_id = f.Integer(allow_none=True)
    officer_id = f.Integer()
    case_id = f.Integer(allow_none=True)
    category = f.String()
    reason = f.String(allow_none=True)
    detail = f.String(allow_none=True)
    op = f.Dict()
    values = f.Dict(allow_none=True)
    created_at = f.DateTime()
    open = f.Boolean()
    resolution = f.String(allow_none=True)
    resolution_note = f.String(allow_none=True)
    resolved_at = f.DateTime(allow_none=True)
    resolved_by = f.Integer(allow_none=True)
    resolved_values = f.Dict(allow_none=True)


@blp.route("", methods=["GET"])
@blp.arguments(ReviewQuerySchema, location="query")
@blp.response(200, ReviewItemSchema(many=True))
@blp.doc(security=BEARER)
def list_items(query):
    """Open (or all) review items: soft and hard conflicts, quarantined ops with their reason."""
    return run(review.list_items, open_only=query["open"], case_id=query.get("case_id"))


@blp.route("/<int:item_id>/resolve", methods=["POST"])
@blp.arguments(ResolveSchema)
@blp.response(200, ReviewItemSchema)
@blp.doc(security=BEARER)
def resolve(data, item_id: int):
    """Accept, reject (with a reason) or pick a value for each field of a hard conflict."""
    return run(review.resolve, item_id, data["decision"], data.get("note"), data.get("choices"))

"""/api/actions: alerts and tasks raised by the policy's triggers."""
from __future__ import annotations

import marshmallow as ma
from marshmallow import fields as f
from marshmallow import validate as v
from flask_smorest import Blueprint

from ..domain.triggers import ActionCategory
from ..service import actions
from .case_schemas import choice, text
from .requests import BEARER, run

blp = Blueprint("actions", __name__, url_prefix="/api/actions", description="Alerts and tasks")


class ActionQuerySchema(ma.Schema):
    case_id = f.Integer(validate=v.Range(1, 2**53))
    open = f.Boolean(load_default=False)
    category = choice(ActionCategory)


class AcknowledgeSchema(ma.Schema):
    note = text(2000, allow_none=True)


class ActionSchema(ma.Schema):
    id = f.Integer()
    case_id = f.Integer(allow_none=True)  # None: an alert about no one case (a device enrolled)
    category = f.String()
    code = f.String()
    title = f.String()
    policy_ref = f.String()
    raised_at = f.DateTime()
    acknowledged_at = f.DateTime(allow_none=True)
    acknowledged_by = f.Integer(allow_none=True)
    note = f.String(allow_none=True)


@blp.route("", methods=["GET"])
@blp.arguments(ActionQuerySchema, location="query")
@blp.response(200, ActionSchema(many=True))
@blp.doc(security=BEARER)
def list_actions(query):
    """Alerts and tasks, optionally only those not yet acknowledged."""
    return run(actions.list_actions, case_id=query.get("case_id"), open_only=query["open"],
               category=query.get("category"))


@blp.route("/<int:action_id>/acknowledge", methods=["POST"])
@blp.arguments(AcknowledgeSchema)
@blp.response(200, ActionSchema)
@blp.doc(security=BEARER)
def acknowledge(data, action_id: int):
    """Acknowledge an alert or task; records who and when."""
    return run(actions.acknowledge, action_id, data.get("note"))

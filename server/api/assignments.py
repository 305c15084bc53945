"""/api/assignments: a supervisor assigns a visit on a case to an officer."""
from __future__ import annotations

import marshmallow as ma
from marshmallow import fields as f
from marshmallow import validate as v
from flask_smorest import Blueprint

from ..service import assignments
from .case_schemas import CaseAssignmentSchema, day, text
from .requests import BEARER, run

blp = Blueprint("assignments", __name__, url_prefix="/api/assignments", description="Visits assigned to officers")


class AssignmentQuerySchema(ma.Schema):
    officer_id = f.Integer(validate=v.Range(1, 2**53))
    case_id = f.Integer(validate=v.Range(1, 2**53))
    open = f.Boolean(load_default=True)


class ReassignSchema(ma.Schema):
    officer_id = f.Integer(required=True, validate=v.Range(1, 2**53))
    due = day(allow_none=True)
    instructions = text(2000, allow_none=True)


@blp.route("", methods=["POST"])
@blp.arguments(CaseAssignmentSchema)
@blp.response(201, CaseAssignmentSchema)
@blp.doc(security=BEARER)
def create(data):
    """Assign a visit on a case to an officer, with a due date and instructions."""
    return run(assignments.assign, data["case_id"], data["officer_id"], data.get("due"),
               data.get("instructions")), 201


@blp.route("", methods=["GET"])
@blp.arguments(AssignmentQuerySchema, location="query")
@blp.response(200, CaseAssignmentSchema(many=True))
@blp.doc(security=BEARER)
def list_assignments(query):
    """Assignments; an officer sees their own."""
    return run(assignments.list_assignments, officer_id=query.get("officer_id"), case_id=query.get("case_id"),
               open_only=query["open"])


@blp.route("/<int:assignment_id>/reassign", methods=["POST"])
@blp.arguments(ReassignSchema)
@blp.response(201, CaseAssignmentSchema)
@blp.doc(security=BEARER)
def reassign(data, assignment_id: int):
    """End this assignment and give the visit to another officer."""
    return run(assignments.reassign, assignment_id, data["officer_id"], data.get("due"),
               data.get("instructions")), 201


@blp.route("/<int:assignment_id>/end", methods=["POST"])
@blp.response(200, CaseAssignmentSchema)
@blp.doc(security=BEARER)
def end(assignment_id: int):
    """End an assignment: the case leaves the officer's scope."""
    return run(assignments.end, assignment_id)

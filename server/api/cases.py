"""/api/cases: the case register."""
from __future__ import annotations

from ..domain.lifecycle import CaseStatus, Closure, CloseReason, PlaceProblem, TransitionRequest
from ..service import cases, lifecycle
from .case_schemas import CaseQuerySchema, CaseSchema, CaseUpdateSchema, ChildFieldsSchema, TransitionSchema
from .etags import IF_MATCH_PARAM, etag_for, if_match_version
from .paging import PagedBlueprint
from .requests import BEARER, run

blp = PagedBlueprint("cases", __name__, url_prefix="/api/cases",
                     description="The register of children missing education")


def _with_etag(view: dict) -> tuple[dict, int, dict]:
    return view, 200, {"ETag": etag_for(view["version"])}


@blp.route("", methods=["GET"])
@blp.arguments(CaseQuerySchema, location="query")
@blp.response(200, CaseSchema(many=True))
@blp.paginate()
@blp.doc(security=BEARER)
def list_cases(filters, pagination_parameters):
    """List cases (an officer sees only those assigned); each shows its deadlines and which are overdue."""
    items, total = run(cases.list_cases, filters, pagination_parameters.page, pagination_parameters.page_size)
    pagination_parameters.item_count = total
    return items


@blp.route("", methods=["POST"])
@blp.arguments(ChildFieldsSchema)
@blp.response(201, CaseSchema)
@blp.doc(security=BEARER)
def create_case(data):
    """Open a case directly (supervisors and admins); referrers use /api/referrals."""
    view = run(cases.create_case, data)
    return view, 201, {"ETag": etag_for(view["version"])}


@blp.route("/<int:case_id>", methods=["GET"])
@blp.response(200, CaseSchema)
@blp.doc(security=BEARER)
def get_case(case_id: int):
    """One case with its compulsory school age, deadlines and open assignments. The ETag is its version."""
    return _with_etag(run(cases.get_case, case_id))


@blp.route("/<int:case_id>", methods=["PATCH"])
@blp.arguments(CaseUpdateSchema(partial=True))
@blp.response(200, CaseSchema)
@blp.doc(security=BEARER, parameters=[IF_MATCH_PARAM])
def update_case(data, case_id: int):
    """Change case fields. Needs If-Match with the ETag of the version you read (412 if it moved on)."""
    # If-Match is read after authentication, so a request without a valid token is 401 whatever it sends;
    # a missing If-Match is 428 only once the caller may update the case (403/404 first).
    return _with_etag(run(lambda session, actor: cases.update_case(
        session, actor, case_id, if_match_version(required=False), data)))


@blp.route("/<int:case_id>/transitions", methods=["POST"])
@blp.arguments(TransitionSchema)
@blp.response(200, CaseSchema)
@blp.doc(security=BEARER)
def transition(data, case_id: int):
    """Move the case through its lifecycle. Closing needs a reason the policy allows and its evidence."""
    return _with_etag(run(lambda session, actor: lifecycle.transition(
        session, actor, case_id, if_match_version(required=False), to_request(data))))


def to_request(data: dict) -> TransitionRequest:
    closure = data.get("closure")
    return TransitionRequest(
        target=CaseStatus(data["target"]),
        closure=Closure(**{**closure, "reason": CloseReason(closure["reason"])}) if closure else None,
        place_problem=PlaceProblem(data["place_problem"]) if data.get("place_problem") else None,
        destination=data.get("destination"), note=data.get("note"))



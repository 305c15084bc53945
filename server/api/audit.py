"""/api/audit: the append-only log of reads and writes of case data (supervisors and admins)."""
from __future__ import annotations

import marshmallow as ma
from marshmallow import fields as f
from marshmallow import validate as v

from ..service import audit
from .paging import PagedBlueprint
from .requests import BEARER, run

blp = PagedBlueprint("audit", __name__, url_prefix="/api/audit", description="Audit log")


class AuditQuerySchema(ma.Schema):
    case_id = f.Integer(validate=v.Range(1, 2**53))
    actor_id = f.Integer(validate=v.Range(1, 2**53))
    action = f.String(validate=v.Length(max=60))


class AuditEntrySchema(ma.Schema):
    id = f.Integer()
    at = f.DateTime()
    actor_id = f.Integer(allow_none=True)
    actor = f.String(metadata={"description": "`user` (actor_id names them) or `system` (no person acted)"})
    device_id = f.Integer(allow_none=True)
    action = f.String()
    case_id = f.Integer(allow_none=True)
    detail = f.String(allow_none=True)


def _query(uow, actor, query, page, page_size):
    rows, total = audit.query(uow, actor, page=page, page_size=page_size, **query)
    return [{"id": e.id, "at": e.at, "actor_id": e.actor_id,
             "actor": "system" if e.actor_id is None else "user", "device_id": e.device_id, "action": e.action,
             "case_id": e.case_id, "detail": e.detail} for e in rows], total


@blp.route("", methods=["GET"])
@blp.arguments(AuditQuerySchema, location="query")
@blp.response(200, AuditEntrySchema(many=True))
@blp.paginate()
@blp.doc(security=BEARER)
def list_entries(query, pagination_parameters):
    """Audit entries, oldest first, filtered by case, actor or action."""
    rows, total = run(_query, query, pagination_parameters.page, pagination_parameters.page_size)
    pagination_parameters.item_count = total
    return rows

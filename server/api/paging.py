"""Paged listings: a Blueprint that documents its pagination header truthfully."""
from __future__ import annotations

from flask_smorest import Blueprint
from flask_smorest.pagination import PaginationMetadataSchema


class PagedBlueprint(Blueprint):
    """A Blueprint whose X-Pagination header is documented as what it carries: a JSON object.

    flask-smorest documents the header with an object `schema`, which in OpenAPI 3 means the simple
    style (`total,3,page,1`), not the JSON text it sends; `content` is how OpenAPI 3 describes a JSON header.
    """

    def _document_pagination_metadata(self, spec, resp_doc):
        if spec.openapi_version.major < 3:
            return super()._document_pagination_metadata(spec, resp_doc)
        resp_doc.setdefault("headers", {})[self.PAGINATION_HEADER_NAME] = {
            "description": "Pagination metadata (JSON)",
            "content": {"application/json": {"schema": PaginationMetadataSchema}},
        }
        return None

"""Per-request plumbing: the unit of work and the authenticated actor."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, request
from flask_smorest import Blueprint
from flask_smorest.pagination import PaginationMetadataSchema

from ..domain.errors import PreconditionRequired, VersionMismatch
from ..service.security import authenticate
from sync.errors import DeviceRetired, check_protocol_version
from sync.vocabulary import PROTOCOL_HEADER

T = TypeVar("T")

BEARER = [{"bearerAuth": []}]


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def uow():
    return current_app.extensions["cme"]["uow"]


def run(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Authenticate and call one service function in one transaction."""
    with uow().transaction() as session:
        actor = authenticate(session, bearer_token())
        if actor.device_status == "retired":  # a retired device may only push what it holds, then say goodbye
            raise DeviceRetired("this device is retired: push pending work, then erase")
        return fn(session, actor, *args, **kwargs)


def run_device(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """A sync request: the protocol version is checked first; retired devices get this far (to push)."""
    check_protocol_version(request.headers.get(PROTOCOL_HEADER))
    with uow().transaction() as session:
        actor = authenticate(session, bearer_token())
        return fn(session, actor, *args, **kwargs)


def run_public(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    with uow().transaction() as session:
        return fn(session, *args, **kwargs)


def if_match_version(required: bool = True) -> int | None:
    """Parse If-Match: "7" or W/"7" (the case version). Missing -> 428 when required; garbage -> 412."""
    raw = request.headers.get("If-Match")
    if raw is None:
        if required:
            raise PreconditionRequired("send If-Match with the ETag from your last read of the case",
                                       field="If-Match")
        return None
    value = raw.strip().removeprefix("W/").strip('"')
    if not value.isdigit() or len(value) > 12:
        raise VersionMismatch("If-Match does not hold a case ETag", field="If-Match")
    return int(value)


def etag_for(version: int) -> str:
    return f'"{version}"'


IF_MATCH_PARAM = {"in": "header", "name": "If-Match", "required": True, "schema": {"type": "string"},
                  "description": "the ETag from the last read of the case"}


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

"""Per-request plumbing: the unit of work and the authenticated actor."""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, request
from flask_smorest import Blueprint
from flask_smorest.pagination import PaginationMetadataSchema

from ..adapters.storable import storable
from ..domain.errors import DomainError, Forbidden, InvalidInput, PreconditionRequired, VersionMismatch
from ..service.access import CaseHidden, record_denied
from ..service.security import authenticate, client_address
from sync.errors import DeviceRetired, check_protocol_version
from sync.text import text_problem
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
    """Authenticate a person's sign-in token and call one service function in one transaction (the web API).

    Device tokens are for sync, uploads and photo fetches only (`run_device`, `run_photo`): a device left in a
    car must not open the whole register, nor edit cases outside the sync rules."""
    return _run(fn, args, kwargs, device_allowed=False)


def run_photo(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Like `run`, but a field device may also fetch photos of the cases it may see."""
    return _run(fn, args, kwargs, device_allowed=True)


def _run(fn: Callable[..., T], args: tuple, kwargs: dict, *, device_allowed: bool) -> T:
    actor = None
    try:
        with uow().transaction() as session:
            actor = authenticate(session, bearer_token())
            if actor.device_status == "retired":  # a retired device may only push what it holds, then say goodbye
                raise DeviceRetired("this device is retired: push pending work, then erase")
            if actor.device_id is not None and not device_allowed:
                raise Forbidden("a device token is for sync, uploads and photos only: sign in to use the web API",
                                rule="device-token:sync-only")
            return fn(session, actor, *args, **kwargs)
    except CaseHidden as denied:  # the refusal rolled back; its audit entry is written on its own
        with uow().transaction() as session:
            record_denied(session, actor, denied)
        raise


def run_device(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """A sync request: the protocol version is checked first; retired devices get this far (to push)."""
    check_protocol_version(request.headers.get(PROTOCOL_HEADER))
    with uow().transaction() as session:
        actor = authenticate(session, bearer_token())
        return fn(session, actor, *args, **kwargs)


def run_public(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """A request that authenticates itself (sign-in, enrolment, sign-out); sign-ins are throttled per client
    address too, so the service is told the address (behind proxies: TRUSTED_PROXIES, see `init_api`)."""
    address = client_address.set(request.remote_addr)
    try:
        with uow().transaction() as session:
            return fn(session, *args, **kwargs)
    finally:
        client_address.reset(address)


# A push is judged op by op (sync rules keep a bad op for review), so its text is not refused here as a whole.
TEXT_CHECK_EXEMPT = frozenset({"/api/sync/push"})
MAX_JSON_DEPTH = 32  # the deepest body this API takes nests about 6 levels
# Python refuses to convert integers of more than 4300 digits (a ValueError deep in parsing); ids here fit 2**53,
# so a far longer literal is refused up front as a malformed body.
MAX_INT_DIGITS = 1000
BOM = "\ufeff"


class MalformedBody(DomainError):
    code, title, status = "malformed-body", "The request body is not valid JSON", 400


class _LongNumber(Exception):
    """Raised from inside the JSON parser, where a ValueError would read as "not JSON"."""


def screen_input() -> None:
    """Before each request, what schemas cannot catch: JSON nested so deep that parsing it would exhaust the
    stack, or with integers too long to convert (400); and text no field may hold (422 on the field), judged by
    `sync.text.text_problem` as ops are: NUL and lone surrogates (no database stores them), control characters
    other than line breaks and tabs, invisible format characters. Fields that must be one line refuse line
    breaks too, in their schemas. Non-JSON bodies (tus chunks) are not read here."""
    for name, values in request.args.lists():
        for value in (name, *values):
            problem = text_problem(value)
            if problem:
                raise InvalidInput(_refusal(problem), field=storable(name))
    if not request.is_json:
        return
    document = _parsed_body()
    bad_at, problem, depth = _scan(document)
    if depth > MAX_JSON_DEPTH:
        raise MalformedBody(f"the JSON nests deeper than {MAX_JSON_DEPTH} levels")
    if problem is not None and request.path not in TEXT_CHECK_EXEMPT:
        raise InvalidInput(_refusal(problem), field=bad_at or "body")


def _refusal(problem: str) -> str:
    return "text " + problem.replace("(U+0000)", "(U+0000, NUL)")


def _parsed_body() -> Any:
    """The JSON body (None when it is not JSON: the schema then says so), refusing over-long integer literals."""
    try:
        document = request.get_json(silent=True)
        if document is None and request.get_data(cache=True):
            json.loads(request.get_data(cache=True), parse_int=_int_literal)  # why it failed, if it is ours
    except RecursionError:
        raise MalformedBody(f"the JSON nests deeper than {MAX_JSON_DEPTH} levels") from None
    except _LongNumber:
        raise MalformedBody(f"a number in the body has more than {MAX_INT_DIGITS} digits") from None
    except ValueError:
        return None  # not JSON at all: the schema's parser answers 400 malformed-body
    return document


def _int_literal(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_INT_DIGITS:
        raise _LongNumber
    return int(digits)


def _scan(document: Any) -> tuple[str | None, str | None, int]:
    """The dotted path of the first string (or key) that is not acceptable text, the reason (or None), and the
    nesting depth; iterative. A leading byte-order mark is a file's, not text (a pasted term-dates CSV)."""
    first: tuple[str | None, str | None] = (None, None)
    deepest = 0
    stack: list[tuple[str, Any, int]] = [("", document, 0)]
    while stack:
        path, value, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(value, str):
            problem = text_problem(value.removeprefix(BOM), multiline=True) if first[1] is None else None
            first = (path, problem) if problem else first
            continue
        items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
        children = []
        for key, item in items:
            here = f"{path}.{key}" if path else str(key)
            problem = text_problem(str(key)) if first[1] is None else None
            first = (storable(here), f"(in a key) {problem}") if problem else first
            children.append((here, item, depth + 1))
        stack.extend(reversed(children))
    return first[0], first[1], deepest


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

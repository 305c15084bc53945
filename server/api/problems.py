"""The one place that maps errors to HTTP: RFC 9457 problem details (application/problem+json)."""
from __future__ import annotations

import errno
import logging

import marshmallow as ma
from flask import Flask, Response, json, request
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from ..domain.errors import Busy, DomainError, TooManyAttempts, Unauthenticated
from sync.errors import SyncError
from sync.problems import CATALOGUE, PROBLEM_TYPE_BASE, problem_type

log = logging.getLogger(__name__)


def catalogue_listing() -> list[dict]:
    """Every problem type the server sends, for the OpenAPI document (`x-problem-types`)."""
    return [{"type": p.type, "title": p.title, "status": p.status, "means": p.means}
            for p in CATALOGUE.values() if p.sent]


class ProblemSchema(ma.Schema):
    type = ma.fields.String(required=True, metadata={
        "description": f"A stable URI under {PROBLEM_TYPE_BASE} naming the problem; a client acts on it, never "
                       "on the title or detail. `x-problem-types` lists every type with its title and status.",
        "x-problem-types": catalogue_listing()})
    title = ma.fields.String(required=True)
    status = ma.fields.Integer(required=True)
    detail = ma.fields.String()
    instance = ma.fields.String()
    field = ma.fields.String()
    rule = ma.fields.String()
    errors = ma.fields.Dict()


def problem(status: int, code: str, title: str, detail: str | None = None, **extra) -> Response:
    if code not in CATALOGUE:  # a type on the wire is one a client can look up
        log.error("problem type %r is not in the catalogue (sync.problems)", code)
    body = {"type": problem_type(code), "title": title, "status": status, "instance": request.path}
    if detail:
        body["detail"] = detail
    body.update({k: v for k, v in extra.items() if v is not None})
    resp = Response(json.dumps(body), status=status, mimetype=PROBLEM_JSON)
    return resp


def send(code: str, detail: str | None = None, *, status: int | None = None, **extra) -> Response:
    """A catalogued problem with its title, and its status unless the refusal carries its own."""
    entry = CATALOGUE[code]
    return problem(status or entry.status, entry.code, entry.title, detail, **extra)


def http_problem(error: HTTPException) -> Response:
    """Werkzeug and webargs errors; 422 carries the fields that failed validation."""
    data = getattr(error, "data", None) or {}
    messages = data.get("messages") or (data.get("errors") if isinstance(data.get("errors"), dict) else None)
    if messages:
        fields = _flatten(messages)
        first = next(iter(fields), None)
        detail = f"{first}: {fields[first][0]}" if first else None
        if error.code == 400:  # webargs: the body is not JSON at all ({"json": ["Invalid JSON body."]})
            return send("malformed-body", detail, field=first)
        return send("invalid-input", detail, status=error.code or 422, field=first, errors=fields)
    code = (error.name or "error").lower().replace(" ", "-")
    if code in CATALOGUE:
        resp = send(code, error.description, status=error.code)
    else:  # an HTTP refusal this API does not name itself: the generic type, with werkzeug's words as detail
        resp = send("http-error", f"{error.name}: {error.description}", status=error.code or 500)
    if error.code == 405 and getattr(error, "valid_methods", None):
        resp.headers["Allow"] = ", ".join(error.valid_methods)
    return resp


def _flatten(messages: dict, prefix: str = "") -> dict[str, list[str]]:
    """webargs nests messages by location then field; the location is dropped, nested paths are dotted."""
    out: dict[str, list[str]] = {}
    for key, value in messages.items():
        if not prefix and key in ("json", "query", "headers", "files", "form", "path", "view_args"):
            if isinstance(value, dict):
                out.update(_flatten(value, ""))
            else:  # a message about the location as a whole, e.g. {"json": ["Invalid JSON body."]}
                out[key] = [str(m) for m in (value if isinstance(value, list) else [value])]
            continue
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            out.update(_flatten(value, path))
        else:
            out[path] = [str(m) for m in (value if isinstance(value, list) else [value])]
    return out


PROBLEM_JSON = "application/problem+json"

# Failures of the database or the disk, not of the request: nothing was saved, and the client retries later
# (the field client keeps its outbox on any 5xx). Never a 500, which reads as a fault in the request or the code.
BUSY, UNAVAILABLE, FULL = "busy", "unavailable", "insufficient-storage"
_RETRY_AFTER = {BUSY: 2, UNAVAILABLE: 30, FULL: 300}  # verdict (a catalogued type) -> Retry-After seconds
STORAGE_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
# PostgreSQL SQLSTATEs: serialisation failure, deadlock, lock not available; disk full; and SQLite result codes
# (the low byte of extended codes): SQLITE_BUSY / SQLITE_LOCKED (busy past busy_timeout), SQLITE_FULL.
_BUSY_SQLSTATES = frozenset({"40001", "40P01", "55P03"})
_FULL_SQLSTATES = frozenset({"53100"})
_SQLITE_BUSY, _SQLITE_FULL = frozenset({5, 6}), frozenset({13})


def database_verdict(err: DBAPIError) -> str | None:
    """BUSY, UNAVAILABLE or FULL when the database (not the request) failed, else None (a 500)."""
    sqlstate = getattr(err.orig, "sqlstate", None)
    sqlite_code = getattr(err.orig, "sqlite_errorcode", None)
    sqlite_code = sqlite_code & 0xFF if isinstance(sqlite_code, int) else None
    if sqlstate in _FULL_SQLSTATES or sqlite_code in _SQLITE_FULL:
        return FULL
    if sqlstate in _BUSY_SQLSTATES or sqlite_code in _SQLITE_BUSY:
        return BUSY
    if err.connection_invalidated or isinstance(err, (OperationalError, InterfaceError)):
        return UNAVAILABLE  # connection refused or lost, server shutting down, too many connections
    return None


def _unavailable(verdict: str) -> Response:
    resp = send(verdict, "nothing was saved")
    resp.headers["Retry-After"] = str(_RETRY_AFTER[verdict])
    return resp
_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def document_problem_responses(app: Flask) -> None:
    """Document error responses as `application/problem+json`, the content type they are sent with.

    flask-smorest documents its error responses (DEFAULT_ERROR, UNPROCESSABLE_ENTITY, ...) with its default
    content type, application/json; a client or a contract test reading the spec would then reject every
    problem this API sends. Rewrites the registered and the lazily registered response components whose body is
    a Problem, so it also covers those referenced by blueprints registered later.
    """
    for entry in app.extensions.get("flask-smorest", {}).get("apis", {}).values():
        components = entry["ext_obj"].spec.components
        for table in (components.responses, components.responses_lazy):
            for response in table.values():
                content = response.get("content") or {}
                body = content.get("application/json")
                if body is not None and body.get("schema") == _PROBLEM_REF:
                    content[PROBLEM_JSON] = content.pop("application/json")


def register_problem_handlers(app: Flask) -> None:
    document_problem_responses(app)

    @app.errorhandler(DomainError)
    def _domain(err: DomainError):
        resp = problem(err.status, err.code, err.title, err.detail, field=err.field, rule=err.rule)
        if isinstance(err, (TooManyAttempts, Busy)):
            resp.headers["Retry-After"] = str(err.retry_after)
        if isinstance(err, Unauthenticated):  # RFC 9110 §15.5.2 / RFC 6750 §3: say how to authenticate
            resp.headers["WWW-Authenticate"] = 'Bearer realm="cme"'
        return resp

    @app.errorhandler(SyncError)
    def _sync(err: SyncError):
        return problem(err.http_status, err.code, err.title, str(err) or None,
                       field=getattr(err, "field", None))

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException):
        return http_problem(err)

    @app.errorhandler(DBAPIError)
    def _database(err: DBAPIError):
        verdict = database_verdict(err)
        if verdict is None:
            return _unexpected(err)
        log.warning("database %s on %s %s: %s", verdict, request.method, request.path, err.orig)
        return _unavailable(verdict)

    @app.errorhandler(PoolTimeout)
    def _pool(err: PoolTimeout):  # every connection in use for longer than the pool waits
        log.warning("no database connection free on %s %s", request.method, request.path)
        return _unavailable(BUSY)

    @app.errorhandler(OSError)
    def _os(err: OSError):
        if err.errno in STORAGE_FULL_ERRNOS:
            log.error("storage full on %s %s: %s", request.method, request.path, err)
            return _unavailable(FULL)
        return _unexpected(err)

    @app.errorhandler(Exception)
    def _unexpected(err: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return send("internal-error")

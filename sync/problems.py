"""The catalogue of problem types: every RFC 9457 `type` this system answers with, in one place.

Error classes (server/domain/errors.py, sync/errors.py and the few beside the code that raises them) take their
code, title and status from here (`described`), so a type has one title and one status wherever it is raised.
PROTOCOL.md and the OpenAPI document (the Problem schema's `x-problem-types`) list every entry; a test checks
that the three agree. `sent=False` marks the types raised on the device only, which never travel.
"""
from __future__ import annotations

from dataclasses import dataclass

PROBLEM_TYPE_BASE = "https://cme.example/problems/"


@dataclass(frozen=True)
class ProblemType:
    code: str
    title: str
    status: int
    means: str  # what happened, and what a client does about it
    sent: bool = True

    @property
    def type(self) -> str:
        return PROBLEM_TYPE_BASE + self.code


_P = ProblemType
CATALOGUE: dict[str, ProblemType] = {p.code: p for p in (
    # Requests the server cannot read
    _P("malformed-body", "The request body is not valid JSON", 400, "not JSON, nested too deep, or a number too long"),
    _P("bad-request", "The request is malformed", 400, "a header or parameter is malformed (`field` names it)"),
    _P("invalid-input", "A field is not valid", 422, "a field is refused; `field` names it, `errors` lists all"),
    _P("invalid-term-dates", "The term dates are not valid", 422, "a term-dates file is wrong; `field` says where"),
    _P("unsupported-media-type", "That type of content is not accepted", 415, "send the documented Content-Type"),
    _P("request-entity-too-large", "The request body is too large", 413, "a JSON body over 1 MiB"),
    _P("method-not-allowed", "That method is not allowed here", 405, "the `Allow` header lists the methods"),
    _P("http-error", "The request was refused", 400, "any other HTTP-level refusal; the status says which"),
    # Who may do what
    _P("unauthenticated", "Sign in first", 401, "no valid token: sign in (a device signs in again, keeping work)"),
    _P("forbidden", "Your role does not allow this", 403, "the role or token may not do this; `rule` says why"),
    _P("not-found", "Not found", 404, "no such thing, or not one the caller may see"),
    _P("too-many-attempts", "Too many failed sign-ins; wait and try again", 429, "wait `Retry-After` seconds"),
    # Rules of the register
    _P("domain-error", "The request breaks a rule of the register", 409, "a rule refused it; `rule` names it"),
    _P("transition-refused", "The case cannot move to that state", 409, "the lifecycle does not allow that move"),
    _P("closure-refused", "The case cannot be closed", 409, "the closure reason or its evidence is missing"),
    _P("conflict", "That already exists", 409, "the thing exists, or the id was used for something else"),
    _P("version-mismatch", "The case has changed since you read it", 412, "read the case again, then retry"),
    _P("precondition-required", "Send If-Match with the case's ETag", 428, "send If-Match with the ETag read"),
    # The sync protocol
    _P("sync-error", "Sync error", 400, "a sync request could not be served"),
    _P("unsupported-protocol", "Unsupported sync protocol version", 400, "upgrade: the detail names the versions"),
    _P("cursor-invalid", "Pull cursor is not valid", 400, "pull again from an empty cursor"),
    _P("op-invalid", "Operation is not valid", 422, "the push body cannot be read as ops"),
    _P("device-revoked", "Device has been revoked", 403, "erase the store at once"),
    _P("device-retired", "Device has been retired", 403, "push everything pending, say goodbye, then erase"),
    _P("resync-required", "Full resync required", 409, "drop held cases (keep the outbox) and pull from scratch"),
    _P("device-locked", "Device is locked until it contacts the server", 423,
       "offline longer than `offline_ttl_seconds`: the client locks until a sync succeeds", sent=False),
    _P("retirement-incomplete", "Device is retired; pending work could not be sent yet", 409,
       "the retired device kept its store because ops are still unsent: sync again", sent=False),
    # Photos (tus)
    _P("tus-version-unsupported", "Unsupported tus version", 412, "send `Tus-Resumable: 1.0.0`"),
    _P("upload-too-large", "The upload is too large", 413, "the file or the chunk is over the limit"),
    _P("upload-quota-exceeded", "Your uploads not yet attached to a visit fill your quota", 413,
       "attach or wait for the purge of unattached uploads"),
    _P("offset-mismatch", "Upload-Offset does not match the upload", 409, "HEAD for the offset, resume from it"),
    _P("upload-expired", "The upload has expired; start a new one", 410, "create a new upload"),
    _P("checksum-mismatch", "The chunk does not match its Upload-Checksum", 460, "send the chunk again"),
    _P("too-many-uploads", "Too many unfinished uploads", 429, "finish or terminate an upload first"),
    # The server itself
    _P("busy", "The register is busy; try again", 503, "nothing was saved: retry after `Retry-After` seconds"),
    _P("unavailable", "The register's database cannot be reached; try again later", 503,
       "nothing was saved: retry after `Retry-After` seconds"),
    _P("insufficient-storage", "The server's storage is full; try again later", 507,
       "nothing was saved: retry after `Retry-After` seconds"),
    _P("internal-error", "Something went wrong on the server; nothing was saved", 500, "a fault, logged; retry later"),
)}


def described(code: str) -> tuple[str, str, int]:
    """(code, title, status) of a catalogued type, for an error class's attributes; KeyError when not catalogued."""
    entry = CATALOGUE[code]
    return entry.code, entry.title, entry.status


def problem_type(code: str) -> str:
    """The problem-details `type` URI for an error code."""
    return PROBLEM_TYPE_BASE + code

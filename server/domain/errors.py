"""Domain errors. Each carries a stable code; the API maps them to RFC 9457 problem details in one place."""
from __future__ import annotations


class DomainError(Exception):
    """A rule of the register refused something. `rule` names the policy paragraph or the rule that refused."""

    code = "domain-error"
    title = "The request breaks a rule of the register"
    status = 409

    def __init__(self, detail: str, *, rule: str | None = None, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.rule = rule
        self.field = field


class TransitionRefused(DomainError):
    code = "transition-refused"
    title = "The case cannot move to that state"


class ClosureRefused(TransitionRefused):
    code = "closure-refused"
    title = "The case cannot be closed"


class InvalidInput(DomainError):
    code = "invalid-input"
    title = "A field is not valid"
    status = 422


class NotFound(DomainError):
    code = "not-found"
    title = "Not found"
    status = 404


class Forbidden(DomainError):
    code = "forbidden"
    title = "Your role does not allow this"
    status = 403


class Unauthenticated(DomainError):
    code = "unauthenticated"
    title = "Sign in first"
    status = 401


class TooManyAttempts(DomainError):
    code = "too-many-attempts"
    title = "Too many failed sign-ins; wait and try again"
    status = 429

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class Busy(DomainError):
    """The server is at its bound for costly work (e.g. password checks); nothing was done, retry shortly."""

    code = "busy"
    title = "The register is busy; try again"
    status = 503

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class VersionMismatch(DomainError):
    code = "version-mismatch"
    title = "The case has changed since you read it"
    status = 412


class PreconditionRequired(DomainError):
    code = "precondition-required"
    title = "Send If-Match with the case's ETag"
    status = 428


class Conflict(DomainError):
    code = "conflict"
    title = "That already exists"
    status = 409

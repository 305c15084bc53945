"""Domain errors. Each carries a stable code from the catalogue (`sync.problems`: its title and status too); the
API maps them to RFC 9457 problem details in one place."""
from __future__ import annotations

from sync.problems import described


class DomainError(Exception):
    """A rule of the register refused something. `rule` names the policy paragraph or the rule that refused."""

    code, title, status = described("domain-error")

    def __init__(self, detail: str, *, rule: str | None = None, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.rule = rule
        self.field = field


class TransitionRefused(DomainError):
    code, title, status = described("transition-refused")


class ClosureRefused(TransitionRefused):
    code, title, status = described("closure-refused")


class InvalidInput(DomainError):
    code, title, status = described("invalid-input")


class NotFound(DomainError):
    code, title, status = described("not-found")


class Forbidden(DomainError):
    code, title, status = described("forbidden")


class Unauthenticated(DomainError):
    code, title, status = described("unauthenticated")


class TooManyAttempts(DomainError):
    code, title, status = described("too-many-attempts")

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class Busy(DomainError):
    """The server is at its bound for costly work (e.g. password checks); nothing was done, retry shortly."""

    code, title, status = described("busy")

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class VersionMismatch(DomainError):
    code, title, status = described("version-mismatch")


class PreconditionRequired(DomainError):
    code, title, status = described("precondition-required")


class Conflict(DomainError):
    code, title, status = described("conflict")

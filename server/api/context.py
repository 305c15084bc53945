"""Per-request plumbing: the unit of work and the authenticated actor."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, request

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


def run_device(fn: Callable[..., T], *args: Any, snapshot: bool = False, **kwargs: Any) -> T:
    """A sync request: the protocol version is checked first; retired devices get this far (to push)."""
    check_protocol_version(request.headers.get(PROTOCOL_HEADER))
    with uow().transaction() as session:
        if snapshot and session.get_bind().dialect.name == "postgresql":
            # One snapshot for the whole pull: scope, changes and the change-log top agree.
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
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

"""Per-request plumbing: authenticate the caller and call one service function in one transaction."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, request

from ..domain.devices import DeviceStatus
from ..domain.errors import Forbidden
from ..service.access import CaseHidden, record_denied
from ..service.security import authenticate, client_address
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
        with uow().transaction() as unit:
            actor = authenticate(unit, bearer_token())
            if actor.device_status == DeviceStatus.RETIRED:  # a retired device may only push what it holds, then say goodbye
                raise DeviceRetired("this device is retired: push pending work, then erase")
            if actor.device_id is not None and not device_allowed:
                raise Forbidden("a device token is for sync, uploads and photos only: sign in to use the web API",
                                rule="device-token:sync-only")
            return fn(unit, actor, *args, **kwargs)
    except CaseHidden as denied:  # the refusal rolled back; its audit entry is written on its own
        with uow().transaction() as unit:
            record_denied(unit, actor, denied)
        raise


def run_device(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """A sync request: the protocol version is checked first; retired devices get this far (to push)."""
    check_protocol_version(request.headers.get(PROTOCOL_HEADER))
    with uow().transaction() as unit:
        actor = authenticate(unit, bearer_token())
        return fn(unit, actor, *args, **kwargs)


def run_public(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """A request that authenticates itself (sign-in, enrolment, sign-out); sign-ins are throttled per client
    address too, so the service is told the address (behind proxies: TRUSTED_PROXIES, see `init_api`)."""
    address = client_address.set(request.remote_addr)
    try:
        with uow().transaction() as unit:
            return fn(unit, *args, **kwargs)
    finally:
        client_address.reset(address)

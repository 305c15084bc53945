"""Device enrolment and control: revoke (wipe at next contact), retire (flush, then wipe), resync, offline TTL."""
from __future__ import annotations

from datetime import timedelta

from ..adapters.access_models import User
from ..adapters.models import Action
from ..adapters.sync_models import Device
from ..domain.access import Actor, Permission, require
from ..domain.devices import MUST_ERASE, DeviceStatus
from ..domain.errors import Conflict, Forbidden, NotFound, Unauthenticated
from ..domain.triggers import ActionCategory
from ..domain.vocabulary import Role
from sync.errors import DeviceRevoked
from . import audit
from .clock import as_utc, utcnow
from .security import issue_token, login

DEVICE_TOKEN_TTL = timedelta(days=365)  # the device is controlled by revoke/retire, not by token expiry
DEFAULT_OFFLINE_TTL = int(timedelta(hours=72).total_seconds())
SEEN_RESOLUTION = timedelta(minutes=1)  # how fresh "last seen" is kept (a supervisor's view, not a clock)
MAX_ACTIVE_DEVICES = 3  # per officer: a phone, a tablet and a spare; CME_MAX_DEVICES_PER_OFFICER changes it


def enrol(uow, username: str, password: str, device_name: str,
          offline_ttl: int = DEFAULT_OFFLINE_TTL, *, max_devices: int = MAX_ACTIVE_DEVICES) -> dict | None:
    """An officer enrols a device with their credentials; None when the credentials are wrong.

    At most `max_devices` active devices per officer (a stolen password must not fill tablets with case data
    unnoticed), and every enrolment is audited and raised as an alert for supervisors to check."""
    user = login(uow, username, password)
    if user is None:
        return None
    if user.role != Role.OFFICER.value:
        raise Forbidden("only attendance officers enrol field devices", rule="role:sync")
    _check_device_cap(uow, user, max_devices)
    now = utcnow()
    device = uow.devices.add(Device(officer_id=user.id, name=device_name, status=DeviceStatus.ACTIVE,
                                    enrolled_at=now, last_seen_at=now, offline_ttl_seconds=offline_ttl,
                                    scope_epoch=0))
    _notify_enrolment(uow, user, device)
    return _enrolment(uow, user, device)


def _check_device_cap(uow, user: User, max_devices: int) -> None:
    active = uow.devices.active_count_locked(user.id)
    if active >= max_devices:
        raise Conflict(f"an officer may have at most {max_devices} active devices; ask a supervisor to retire "
                       "or revoke one first", rule="devices:max-per-officer", field="username")


def _notify_enrolment(uow, user: User, device: Device) -> None:
    actor = Actor(user_id=user.id, role=Role(user.role), device_id=device.id)
    audit.record(uow, actor, "device.enrol", None, f"device:{device.id}")
    uow.actions.add(Action(case_id=None, category=ActionCategory.ALERT.value, code="device_enrolled",
                           title=f"Device {device.id} was enrolled for {user.username[:80]}: check it is theirs, "
                                 "or revoke it",
                           policy_ref="device control", raised_at=utcnow()))


def _enrolment(uow, user: User, device: Device) -> dict:
    issued = issue_token(uow, user, ttl=DEVICE_TOKEN_TTL, device_id=device.id)
    return {"device_id": device.id, "device_token": issued.token, "officer_id": user.id,
            "offline_ttl_seconds": device.offline_ttl_seconds, "server_time": utcnow()}


def renew(uow, device_id: int, username: str, password: str) -> dict | None:
    """Sign a device in again (its token expired) with the officer's credentials: same device, same outbox.

    None when the credentials are wrong. A revoked or wiped device is told so (it erases itself); another
    officer's device, or a non-officer, is refused. The device's older tokens are revoked."""
    user = login(uow, username, password)
    if user is None:
        return None
    if user.role != Role.OFFICER.value:
        raise Forbidden("only attendance officers sign field devices in", rule="role:sync")
    device = uow.devices.get(device_id)
    if device is None:
        raise NotFound(f"no device {device_id}")
    if device.officer_id != user.id:
        raise Forbidden("this device is enrolled to another officer", rule="device:owner")
    if device.status in MUST_ERASE:
        raise DeviceRevoked("this device has been revoked; erase its data")
    uow.devices.revoke_tokens(device.id, utcnow())
    device.last_seen_at = utcnow()
    audit.record(uow, Actor(user_id=user.id, role=Role(user.role), device_id=device.id), "device.renew",
                 None, f"device:{device.id}")
    return _enrolment(uow, user, device)


def device_of(uow, actor: Actor, *, touch: bool = True) -> Device:
    """The device making a sync request; sync is for enrolled devices only."""
    require(actor, Permission.SYNC)
    if actor.device_id is None:
        raise Forbidden("sync needs a device token: enrol the device first", rule="device")
    device = uow.devices.get(actor.device_id)
    if device is None or device.officer_id != actor.user_id:
        raise Unauthenticated("unknown device")
    now = utcnow()
    if touch and (device.last_seen_at is None or now - as_utc(device.last_seen_at) >= SEEN_RESOLUTION):
        device.last_seen_at = now  # a minute's resolution: a no-change sync then writes nothing
    return device


def list_devices(uow, actor: Actor, officer_id: int | None = None) -> list[dict]:
    require(actor, Permission.MANAGE_DEVICES)
    return [device_view(d) for d in uow.devices.listing(officer_id)]


def _controlled(uow, actor: Actor, device_id: int) -> Device:
    require(actor, Permission.MANAGE_DEVICES)
    device = uow.devices.get(device_id)
    if device is None:
        raise NotFound(f"no device {device_id}")
    if device.status in MUST_ERASE:
        raise Conflict(f"the device is already {device.status}", field="device_id")
    return device


def _set_status(device: Device, actor: Actor, status: str) -> None:
    device.status, device.status_changed_at, device.status_changed_by = status, utcnow(), actor.user_id


def revoke(uow, actor: Actor, device_id: int) -> dict:
    """The device's next contact is answered 'revoked' and it erases itself; its holdings are forgotten."""
    device = _controlled(uow, actor, device_id)
    _set_status(device, actor, DeviceStatus.REVOKED)
    return device_view(device)


def retire(uow, actor: Actor, device_id: int) -> dict:
    device = _controlled(uow, actor, device_id)
    if device.status == DeviceStatus.RETIRED:
        raise Conflict("the device is already retired", field="device_id")
    _set_status(device, actor, DeviceStatus.RETIRED)
    return device_view(device)


def request_resync(uow, actor: Actor, device_id: int) -> dict:
    device = _controlled(uow, actor, device_id)
    device.scope_epoch += 1
    return device_view(device)


def goodbye(uow, actor: Actor) -> None:
    """A retired device has pushed everything and is erasing itself: it holds nothing from now on.

    Its token is kept, not revoked: every later use of it is refused with 403 device-revoked (a wiped device is
    treated as revoked by `security.authenticate`), so a device whose goodbye answer was lost, or that crashed
    before erasing, is still told to erase at its next contact instead of meeting a 401 with its data intact."""
    device = device_of(uow, actor)
    if device.status != DeviceStatus.RETIRED:
        raise Conflict("only a retired device says goodbye", field="device_id")
    device.status = DeviceStatus.WIPED
    uow.holdings.forget(device.id)


def device_view(d: Device) -> dict:
    return {"id": d.id, "officer_id": d.officer_id, "name": d.name, "status": d.status,
            "enrolled_at": d.enrolled_at, "last_seen_at": d.last_seen_at,
            "offline_ttl_seconds": d.offline_ttl_seconds, "scope_epoch": d.scope_epoch}



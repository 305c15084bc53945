"""Pull (state down) and the cheap consistency check (DESIGN.md principles 5, 6 and 7)."""
from __future__ import annotations

from ..adapters.sync_models import Device
from ..domain.access import Actor
from ..domain.devices import DeviceStatus
from sync.cursor import decode_cursor, encode_cursor, holdings_digest
from sync.errors import DeviceRetired
from . import audit
from .clock import utcnow
from .devices import device_of
from .snapshots import snapshots_for


def active_device(uow, actor: Actor, *, touch: bool = True) -> Device:
    device = device_of(uow, actor, touch=touch)
    if device.status == DeviceStatus.RETIRED:
        raise DeviceRetired("this device is retired: push pending work, then erase")
    return device


def scope(uow, officer_id: int) -> set[int]:
    """The cases the officer has open assignments to (ids only: most pulls send nothing)."""
    return uow.assignments.open_case_ids(officer_id)


def pull(uow, actor: Actor, cursor_text: str | None, limit: int, holding: tuple[str, int] | None = None) -> dict:
    """A page of changes and what the device now holds, in one transaction.

    `holding` (digest, count) is the consistency check folded into the pull: what the device holds before this
    page, compared with the holdings the page reads anyway. The answer changes nothing: a pull delivered twice
    or late disagrees without anything being wrong, so on a mismatch the device asks `check`, which judges what
    it holds after the page and orders the resync.

    The cursor cannot skip although each statement reads committed data afresh: change numbers are handed out
    in commit order (the change-log lock), so every change numbered at or below the top read here has
    committed before it, and the page's later reads see it; a change they see beyond the cursor is sent again
    on the next pull, never lost."""
    device = active_device(uow, actor)
    cursor = decode_cursor(cursor_text)
    if cursor.scope_epoch != device.scope_epoch:  # the server asked this device to rebuild its scope
        uow.holdings.forget(device.id)
        return _response(device, [], [], encode_cursor(0, device.scope_epoch), more=True, resync=True)
    in_scope = scope(uow, actor.user_id)
    held = uow.holdings.of_device(device.id)
    check = None if holding is None else _check_held(held, *holding)
    removed = sorted(set(held) - in_scope)
    case_ids, last_seq, more = _changed_cases(uow, cursor.change_seq, actor.user_id, bool(in_scope), limit)
    assigned = uow.snapshots.assignments_of(actor.user_id, case_ids)  # one unassigned meanwhile is not sent
    snapshots = snapshots_for(uow, [cid for cid in case_ids if cid in assigned], assigned)
    _record_page(uow, actor, device, removed, [(s["id"], s["version"]) for s in snapshots], held)
    return _response(device, snapshots, removed, encode_cursor(last_seq, device.scope_epoch), more=more,
                     resync=False, check=check)


def _check_held(held: dict[int, int], digest: str, count: int) -> dict:
    return {"match": count == len(held) and digest == holdings_digest(held.items()), "server_count": len(held)}



def _record_page(uow, actor: Actor, device: Device, removed: list[int], sent: list[tuple[int, int]],
                 held: dict[int, int]) -> None:
    """Remember what the device may now hold (one statement for the page), so later pulls can tell it what to
    remove; holdings already at the version sent are not written again."""
    if removed:
        uow.holdings.forget(device.id, removed)
    uow.holdings.record(device.id, [(cid, v) for cid, v in sent if held.get(cid) != v])
    audit.record_many(uow, actor, "sync.pull", [cid for cid, _ in sent])


def _changed_cases(uow, after: int, officer_id: int, any_in_scope: bool,
                   limit: int) -> tuple[list[int], int, bool]:
    """In-scope cases changed after the cursor, ordered by their latest change, at most `limit` of them.

    Every case in the page has all its changes at or below the new cursor, so none is sent twice.
    """
    top = uow.change_log.top()  # first: every change at or below it has committed (commit-ordered numbers)
    if not any_in_scope:
        return [], max(after, top), False
    rows = uow.change_log.latest_in_caseload(after, officer_id, limit + 1)
    page = rows[:limit]
    if len(rows) > limit:
        return [cid for cid, _ in page], page[-1][1], True
    return [cid for cid, _ in page], max(after, top), False  # past other officers' changes too


def _response(device: Device, cases: list[dict], removed: list[int], cursor: str, *, more: bool,
              resync: bool, check: dict | None = None) -> dict:
    answer = {"cases": cases, "removed": removed, "cursor": cursor, "more": more, "resync": resync,
              "server_time": utcnow(), "offline_ttl_seconds": device.offline_ttl_seconds}
    if check is not None:  # only when asked: older clients never see it
        answer["check"] = check
    return answer


def check(uow, actor: Actor, digest: str, count: int) -> dict:
    """Compare what the device says it holds with what the server sent it; on mismatch, order a resync."""
    device = active_device(uow, actor)
    check = _check_held(uow.holdings.of_device(device.id), digest, count)
    if not check["match"]:
        device.scope_epoch += 1
    return {**check, "resync": not check["match"]}

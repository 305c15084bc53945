"""Pull (state down) and the cheap consistency check (DESIGN.md principles 5, 6 and 7)."""
from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ..adapters.models import Assignment, CaseChange
from ..adapters.sync_models import Device, DeviceHolding
from ..domain.access import Actor
from ..domain.devices import DeviceStatus
from sync.cursor import decode_cursor, encode_cursor, holdings_digest
from sync.errors import DeviceRetired
from . import audit
from .clock import utcnow
from .devices import device_of
from .snapshots import snapshots_for
from .uow import Database


def active_device(session: Session, actor: Actor, *, touch: bool = True) -> Device:
    device = device_of(session, actor, touch=touch)
    if device.status == DeviceStatus.RETIRED:
        raise DeviceRetired("this device is retired: push pending work, then erase")
    return device


def scope(session: Session, officer_id: int) -> dict[int, Assignment]:
    """The officer's open assignments by case (the newest one when a case has several)."""
    rows = session.scalars(select(Assignment).where(
        Assignment.officer_id == officer_id, Assignment.ended_at.is_(None)).order_by(Assignment.id))
    return {a.case_id: a for a in rows}


def pull(uow: Database, actor: Actor, cursor_text: str | None, limit: int) -> dict:
    """Read a page from one snapshot, then record what was sent in a second, short transaction.

    Keeping the snapshot read-only matters on PostgreSQL: writing under REPEATABLE READ next to busy writers
    fails with serialisation errors (foreign-key checks on freshly updated cases)."""
    with uow.transaction(snapshot=True) as session:
        page = _read_page(session, actor, cursor_text, limit)
    with uow.transaction() as session:
        device = active_device(session, actor)
        _record_page(session, actor, device, page)
    return page["response"]


def _read_page(session: Session, actor: Actor, cursor_text: str | None, limit: int) -> dict:
    device = active_device(session, actor, touch=False)
    cursor = decode_cursor(cursor_text)
    if cursor.scope_epoch != device.scope_epoch:  # the server asked this device to rebuild its scope
        response = _response(device, [], [], encode_cursor(0, device.scope_epoch), more=True, resync=True)
        return {"response": response, "forget_all": True, "sent": []}
    in_scope = scope(session, actor.user_id)
    held = set(session.scalars(select(DeviceHolding.case_id).where(DeviceHolding.device_id == device.id)))
    removed = sorted(held - set(in_scope))
    case_ids, last_seq, more = _changed_cases(session, cursor.change_seq, set(in_scope), limit)
    snapshots = snapshots_for(session, case_ids, in_scope)
    response = _response(device, snapshots, removed, encode_cursor(last_seq, device.scope_epoch), more=more,
                         resync=False)
    return {"response": response, "forget_all": False, "sent": [(s["id"], s["version"]) for s in snapshots]}


def _record_page(session: Session, actor: Actor, device: Device, page: dict) -> None:
    """Remember what the device may now hold, so later pulls can tell it what to remove."""
    forget = delete(DeviceHolding).where(DeviceHolding.device_id == device.id)
    if page["forget_all"]:
        session.execute(forget)
        return
    if page["response"]["removed"]:
        session.execute(forget.where(DeviceHolding.case_id.in_(page["response"]["removed"])))
    for case_id, version in page["sent"]:
        holding = session.get(DeviceHolding, (device.id, case_id))
        if holding is None:
            session.add(DeviceHolding(device_id=device.id, case_id=case_id, version=version))
        else:
            holding.version = version
    audit.record_many(session, actor, "sync.pull", [cid for cid, _ in page["sent"]])


def _changed_cases(session: Session, after: int, in_scope: set[int], limit: int) -> tuple[list[int], int, bool]:
    """In-scope cases changed after the cursor, ordered by their latest change, at most `limit` of them.

    Every case in the page has all its changes at or below the new cursor, so none is sent twice.
    """
    # Read in one snapshot (REPEATABLE READ on PostgreSQL), so nothing committed later is below `top`.
    top = session.scalar(select(CaseChange.seq).order_by(CaseChange.seq.desc()).limit(1)) or 0
    if not in_scope:
        return [], max(after, top), False
    latest = func.max(CaseChange.seq)
    rows = session.execute(select(CaseChange.case_id, latest).where(
        CaseChange.seq > after, CaseChange.case_id.in_(in_scope)).group_by(CaseChange.case_id)
        .order_by(latest).limit(limit + 1)).all()
    page = rows[:limit]
    if len(rows) > limit:
        return [cid for cid, _ in page], page[-1][1], True
    return [cid for cid, _ in page], max(after, top), False  # past other officers' changes too


def _response(device: Device, cases: list[dict], removed: list[int], cursor: str, *, more: bool,
              resync: bool) -> dict:
    return {"cases": cases, "removed": removed, "cursor": cursor, "more": more, "resync": resync,
            "server_time": utcnow(), "offline_ttl_seconds": device.offline_ttl_seconds}


def check(session: Session, actor: Actor, digest: str, count: int) -> dict:
    """Compare what the device says it holds with what the server sent it; on mismatch, order a resync."""
    device = active_device(session, actor)
    held = session.execute(select(DeviceHolding.case_id, DeviceHolding.version).where(
        DeviceHolding.device_id == device.id)).all()
    match = count == len(held) and digest == holdings_digest((cid, v) for cid, v in held)
    if not match:
        device.scope_epoch += 1
    return {"match": match, "server_count": len(held), "resync": not match}

"""Enquiries are append-only facts: home visits, address checks, partner checks and letters."""
from __future__ import annotations

from collections import defaultdict

from ..adapters.models import Enquiry
from ..domain.case import is_closed
from ..domain.access import Actor, Permission
from ..domain.triggers import triggers_for_concern
from . import audit, changes
from .access import load_case
from .actions import raise_triggers
from .clock import utcnow
from .uploads import photo_view
from .presenters import enquiry_view

DETAIL_KEYS = ("notice_left", "person_spoken_to", "new_address", "result", "agency", "letter_type")


def record_enquiry(uow, actor: Actor, case_id: int, data: dict, *, op_id: str | None = None) -> dict:
    """Append an enquiry. One arriving after closure is kept and flagged for a supervisor (principle 3)."""
    case = load_case(uow, actor, case_id, Permission.RECORD_ENQUIRY, for_update=True)
    enquiry = uow.enquiries.add(Enquiry(
        case_id=case.id, kind=data["kind"], occurred_at=data.get("occurred_at") or utcnow(),
        recorded_at=utcnow(), actor_id=actor.user_id, device_id=actor.device_id, op_id=op_id,
        outcome=data.get("outcome"), source=data.get("source"), notes=data.get("notes"),
        details={k: data[k] for k in DETAIL_KEYS if data.get(k) is not None},
        safeguarding_concern=bool(data.get("safeguarding_concern")),
        flagged="after_closure" if is_closed(case) else None))
    changes.bump(uow, case, actor, f"enquiry:{enquiry.kind}", ["enquiries"])
    raise_triggers(uow, case, triggers_for_concern(enquiry.safeguarding_concern))
    audit.record(uow, actor, "enquiry.record", case.id)
    return enquiry_view(enquiry)


def list_enquiries(uow, actor: Actor, case_id: int) -> list[dict]:
    case = load_case(uow, actor, case_id)
    rows = uow.enquiries.for_case(case.id)
    photos: dict[int, list[dict]] = defaultdict(list)
    for p in uow.enquiries.photos_for_case(case.id):
        photos[p.enquiry_id].append(photo_view(p))
    audit.record(uow, actor, "enquiry.list", case.id)
    return [{**enquiry_view(e), "photos": photos[e.id]} for e in rows]

"""Enquiries are append-only facts: home visits, address checks, partner checks and letters."""
from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..adapters.models import Enquiry
from ..adapters.upload_models import Photo
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


def record_enquiry(session: Session, actor: Actor, case_id: int, data: dict, *, op_id: str | None = None) -> dict:
    """Append an enquiry. One arriving after closure is kept and flagged for a supervisor (principle 3)."""
    case = load_case(session, actor, case_id, Permission.RECORD_ENQUIRY, for_update=True)
    enquiry = Enquiry(
        case_id=case.id, kind=data["kind"], occurred_at=data.get("occurred_at") or utcnow(),
        recorded_at=utcnow(), actor_id=actor.user_id, device_id=actor.device_id, op_id=op_id,
        outcome=data.get("outcome"), source=data.get("source"), notes=data.get("notes"),
        details={k: data[k] for k in DETAIL_KEYS if data.get(k) is not None},
        safeguarding_concern=bool(data.get("safeguarding_concern")),
        flagged="after_closure" if is_closed(case) else None)
    session.add(enquiry)
    session.flush()
    changes.bump(session, case, actor, f"enquiry:{enquiry.kind}", ["enquiries"])
    raise_triggers(session, case, triggers_for_concern(enquiry.safeguarding_concern))
    audit.record(session, actor, "enquiry.record", case.id)
    return enquiry_view(enquiry)


def list_enquiries(session: Session, actor: Actor, case_id: int) -> list[dict]:
    case = load_case(session, actor, case_id)
    rows = list(session.scalars(select(Enquiry).where(Enquiry.case_id == case.id).order_by(Enquiry.id)))
    photos: dict[int, list[dict]] = defaultdict(list)
    for p in session.scalars(select(Photo).where(Photo.case_id == case.id).order_by(Photo.id)):
        photos[p.enquiry_id].append(photo_view(p))
    audit.record(session, actor, "enquiry.list", case.id)
    return [{**enquiry_view(e), "photos": photos[e.id]} for e in rows]

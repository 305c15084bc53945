"""What a device holds about a case: the least data an officer needs on the doorstep (schemas/snapshot.py)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..adapters.models import Assignment, Case, Enquiry
from .case_fields import current_address

RECENT = 10


def snapshot(session: Session, case: Case, assignment: Assignment) -> dict:
    recent = session.scalars(select(Enquiry).where(Enquiry.case_id == case.id)
                             .order_by(Enquiry.occurred_at.desc(), Enquiry.id.desc()).limit(RECENT))
    return {
        "id": case.id, "version": case.version, "reference": case.reference, "status": case.status,
        "child": {"first_name": case.first_name, "last_name": case.last_name,
                  "preferred_name": case.preferred_name, "dob": case.dob, "gender": case.gender},
        "current_address": current_address(case),
        "contact_phone": case.contact_phone, "contact_email": case.contact_email,
        "carers": [{"id": c.id, "name": c.name, "relationship": c.relationship_to_child,
                    "parental_responsibility": c.parental_responsibility, "phone": c.phone, "email": c.email}
                   for c in case.carers],
        "last_school": ({"name": case.last_school_name, "on_roll": case.on_roll_date,
                         "off_roll": case.off_roll_date} if case.last_school_name else None),
        "safeguarding": {"cp": case.cp, "cin": case.cin, "cic": case.cic},
        "assignment": {"id": assignment.id, "due": assignment.due, "instructions": assignment.instructions,
                       "acknowledged": assignment.acknowledged_at is not None},
        "recent_enquiries": [{"kind": e.kind, "at": e.occurred_at, "outcome": e.outcome,
                              "summary": (e.notes or "")[:200] or None} for e in recent],
    }

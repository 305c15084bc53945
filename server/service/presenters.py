"""Presenters: plain-dict views of stored objects, built inside the transaction (the API's schemas dump these)."""
from __future__ import annotations

from datetime import date

from ..adapters.models import Action, Assignment, Case, Enquiry, Referral
from ..domain.calendar import Deadline, SchoolCalendar
from ..domain.school_age import compulsory_school_age
from .calendar import case_deadlines
from ..domain.case import SCALAR_FIELDS, current_address, is_closed


def deadline_view(d: Deadline, closed: bool) -> dict:
    return {"code": d.code, "label": d.label, "policy_ref": d.policy_ref, "due": d.due,
            "estimated": d.estimated, "met": d.met, "overdue": d.overdue and not closed, "note": d.note,
            "convention": d.convention}


def case_view(case: Case, cal: SchoolCalendar, today: date, *, referral_received: date | None,
              open_assignments: list[Assignment]) -> dict:
    age = compulsory_school_age(case.dob)
    closed = is_closed(case)
    deadlines = [deadline_view(d, closed) for d in case_deadlines(case, referral_received, cal, today)]
    view = {name: getattr(case, name) for name in SCALAR_FIELDS}
    view.update(
        id=case.id, reference=case.reference, version=case.version, status=case.status,
        created_at=case.created_at, updated_at=case.updated_at, closed_at=case.closed_at,
        close_reason=case.close_reason, close_evidence=case.close_evidence,
        transfer_destination=case.transfer_destination,
        current_address=current_address(case),
        carers=[{"id": c.id, "name": c.name, "relationship": c.relationship_to_child,
                 "parental_responsibility": c.parental_responsibility, "phone": c.phone, "email": c.email}
                for c in case.carers],
        siblings=[{"id": s.id, "name": s.name, "dob": s.dob, "school": s.school} for s in case.siblings],
        address_history=[{"line1": a.line1, "line2": a.line2, "town": a.town, "postcode": a.postcode,
                          "from_date": a.from_date, "to_date": a.to_date, "source": a.source}
                         for a in case.addresses],
        compulsory_school_age={"starts": age.starts, "ends": age.ends, "applies_today": age.applies_on(today)},
        deadlines=deadlines,
        overdue=[d["code"] for d in deadlines if d["overdue"]],
        assignments=[assignment_view(a) for a in open_assignments],
    )
    return view


def assignment_view(a: Assignment) -> dict:
    return {"id": a.id, "case_id": a.case_id, "officer_id": a.officer_id, "assigned_by": a.assigned_by,
            "due": a.due, "instructions": a.instructions, "created_at": a.created_at, "ended_at": a.ended_at,
            "acknowledged_at": a.acknowledged_at}


def referral_view(r: Referral) -> dict:
    return {"id": r.id, "case_id": r.case_id, "source": r.source, "route": r.route, "situation": r.situation,
            "received_at": r.received_at, "referrer_name": r.referrer_name,
            "referrer_contact": r.referrer_contact, "details": r.details, "receipt": r.receipt}


def enquiry_view(e: Enquiry) -> dict:
    return {"id": e.id, "case_id": e.case_id, "kind": e.kind, "occurred_at": e.occurred_at,
            "recorded_at": e.recorded_at, "actor_id": e.actor_id, "device_id": e.device_id, "op_id": e.op_id,
            "outcome": e.outcome, "source": e.source, "notes": e.notes, "details": e.details,
            "safeguarding_concern": e.safeguarding_concern, "flagged": e.flagged}


def action_view(a: Action) -> dict:
    return {"id": a.id, "case_id": a.case_id, "category": a.category, "code": a.code, "title": a.title,
            "policy_ref": a.policy_ref, "raised_at": a.raised_at, "acknowledged_at": a.acknowledged_at,
            "acknowledged_by": a.acknowledged_by, "note": a.note}

"""What a device holds about a case: the least data an officer needs on the doorstep (schemas/snapshot.py)."""
from __future__ import annotations

from collections import defaultdict

from ..adapters.models import Assignment, Case, Enquiry
from ..domain.case import current_address

RECENT = 10


def snapshots_for(uow, case_ids: list[int], scope: dict[int, Assignment]) -> list[dict]:
    """Snapshots of many cases in a handful of queries (a page of a pull), in the order of `case_ids`."""
    if not case_ids:
        return []
    cases = uow.snapshots.cases_with_carers(case_ids)
    recent: dict[int, list[Enquiry]] = defaultdict(list)
    for e in uow.snapshots.enquiries_newest_first(case_ids):
        if len(recent[e.case_id]) < RECENT:
            recent[e.case_id].append(e)
    return [snapshot(cases[cid], scope[cid], recent[cid]) for cid in case_ids]


def snapshot(case: Case, assignment: Assignment, recent: list[Enquiry]) -> dict:
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

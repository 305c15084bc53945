"""Referrals: anyone entitled may refer; a referrer gets a receipt and reads nothing of the register."""
from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..adapters.models import Referral
from ..domain.access import Actor, Permission, require
from ..domain.errors import InvalidInput
from ..domain.lifecycle import CaseStatus
from ..domain.triggers import triggers_for_situation
from ..domain.vocabulary import Role, Situation
from . import audit, changes
from .access import CaseHidden, load_case, may_see, record_denied
from .actions import raise_triggers
from .cases import new_case
from .clock import utcnow
from .presenters import referral_view

SAO_SITUATIONS = {Situation.REFUSED_PLACE_OR_TRANSITION.value, Situation.PLACE_NOT_TAKEN_UP.value}
# Receipts: 8 symbols from an alphabet without look-alikes (no 0/O, 1/I/L), read out over the phone.
RECEIPT_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
RECEIPT_PATTERN = r"^CME-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}$"


def submit_referral(session: Session, actor: Actor, data: dict) -> dict:
    """Record a referral: a new case from the child's details, or a further referral on a case by id."""
    require(actor, Permission.SUBMIT_REFERRAL)
    child = data.get("child")
    if data.get("case_id") is not None:
        if actor.role == Role.REFERRER:  # a referrer may not probe which case ids exist
            raise InvalidInput("referrers refer a child by their details, not a case id", field="case_id")
        case = load_case(session, actor, data["case_id"], Permission.SUBMIT_REFERRAL, for_update=True)
        changes.bump(session, case, actor, "referral", ["referrals"])
    else:
        case = new_case(session, actor, child, CaseStatus.REFERRED)
    referral = Referral(case_id=case.id, source=data["source"], route=data["route"],
                        situation=data["situation"], received_at=data.get("received_at") or utcnow(),
                        referrer_id=actor.user_id, referrer_name=data.get("referrer_name"),
                        referrer_contact=data.get("referrer_contact"), details=data.get("details"),
                        receipt=new_receipt(session))
    session.add(referral)
    session.flush()
    raise_triggers(session, case, triggers_for_situation(referral.situation in SAO_SITUATIONS))
    audit.record(session, actor, "referral.submit", case.id)
    receipt = {"receipt": referral.receipt, "received_at": referral.received_at}
    if actor.role != Role.REFERRER:  # staff may see the register; a referrer's receipt reveals nothing of it
        receipt.update(referral_id=referral.id, case_id=case.id, case_reference=case.reference)
    return receipt


def new_receipt(session: Session) -> str:
    """A random receipt not yet given (8 symbols of 31: a clash is rare, but it is checked)."""
    while True:
        chars = "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(8))
        receipt = f"CME-{chars[:4]}-{chars[4:]}"
        if session.scalar(select(Referral.id).where(Referral.receipt == receipt)) is None:
            return receipt


def find_by_receipt(session: Session, actor: Actor, receipt: str) -> list[dict]:
    """The referral a receipt names, for staff following up a referrer's call; [] if none, or if its case is
    not one the actor may see (an officer's caseload), so a receipt reveals no case to the wrong person."""
    require(actor, Permission.READ_CASE)
    row = session.scalar(select(Referral).where(Referral.receipt == receipt.strip().upper()))
    if row is None:
        return []
    if not may_see(session, actor, row.case_id):  # answered like an unknown receipt, audited as denied
        record_denied(session, actor, CaseHidden(row.case_id))
        return []
    audit.record(session, actor, "referral.find", row.case_id)
    return [referral_view(row)]


def list_referrals(session: Session, actor: Actor, case_id: int) -> list[dict]:
    case = load_case(session, actor, case_id)
    rows = session.scalars(select(Referral).where(Referral.case_id == case.id).order_by(Referral.id))
    audit.record(session, actor, "referral.list", case.id)
    return [referral_view(r) for r in rows]

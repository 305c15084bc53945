"""Referrals: anyone entitled may refer; a referrer gets a receipt and reads nothing of the register."""
from __future__ import annotations

import secrets

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


def submit_referral(uow, actor: Actor, data: dict) -> dict:
    """Record a referral: a new case from the child's details, or a further referral on a case by id."""
    require(actor, Permission.SUBMIT_REFERRAL)
    child = data.get("child")
    if data.get("case_id") is not None:
        if actor.role == Role.REFERRER:  # a referrer may not probe which case ids exist
            raise InvalidInput("referrers refer a child by their details, not a case id", field="case_id")
        case = load_case(uow, actor, data["case_id"], Permission.SUBMIT_REFERRAL, for_update=True)
        changes.bump(uow, case, actor, "referral", ["referrals"])
    else:
        case = new_case(uow, actor, child, CaseStatus.REFERRED)
    referral = uow.referrals.add(_referral(uow, actor, case.id, data))
    raise_triggers(uow, case, triggers_for_situation(referral.situation in SAO_SITUATIONS))
    audit.record(uow, actor, "referral.submit", case.id)
    receipt = {"receipt": referral.receipt, "received_at": referral.received_at}
    if actor.role != Role.REFERRER:  # staff may see the register; a referrer's receipt reveals nothing of it
        receipt.update(referral_id=referral.id, case_id=case.id, case_reference=case.reference)
    return receipt


def _referral(uow, actor: Actor, case_id: int, data: dict) -> Referral:
    return Referral(case_id=case_id, source=data["source"], route=data["route"], situation=data["situation"],
                    received_at=data.get("received_at") or utcnow(), referrer_id=actor.user_id,
                    referrer_name=data.get("referrer_name"), referrer_contact=data.get("referrer_contact"),
                    details=data.get("details"), receipt=new_receipt(uow))


def new_receipt(uow) -> str:
    """A random receipt not yet given (8 symbols of 31: a clash is rare, but it is checked)."""
    while True:
        chars = "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(8))
        receipt = f"CME-{chars[:4]}-{chars[4:]}"
        if not uow.referrals.receipt_taken(receipt):
            return receipt


def find_by_receipt(uow, actor: Actor, receipt: str) -> list[dict]:
    """The referral a receipt names, for staff following up a referrer's call; [] if none, or if its case is
    not one the actor may see (an officer's caseload), so a receipt reveals no case to the wrong person."""
    require(actor, Permission.READ_CASE)
    row = uow.referrals.by_receipt(receipt.strip().upper())
    if row is None:
        return []
    if not may_see(uow, actor, row.case_id):  # answered like an unknown receipt, audited as denied
        record_denied(uow, actor, CaseHidden(row.case_id))
        return []
    audit.record(uow, actor, "referral.find", row.case_id)
    return [referral_view(row)]


def list_referrals(uow, actor: Actor, case_id: int) -> list[dict]:
    case = load_case(uow, actor, case_id)
    rows = uow.referrals.for_case(case.id)
    audit.record(uow, actor, "referral.list", case.id)
    return [referral_view(r) for r in rows]

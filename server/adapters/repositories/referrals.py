"""Referrals: who referred a child, how, and the receipt they were given."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Referral


class ReferralRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, referral: Referral) -> Referral:
        self.session.add(referral)
        self.session.flush()
        return referral

    def by_receipt(self, receipt: str) -> Referral | None:
        return self.session.scalar(select(Referral).where(Referral.receipt == receipt))

    def receipt_taken(self, receipt: str) -> bool:
        return self.session.scalar(select(Referral.id).where(Referral.receipt == receipt)) is not None

    def for_case(self, case_id: int) -> list[Referral]:
        return list(self.session.scalars(select(Referral).where(Referral.case_id == case_id)
                                         .order_by(Referral.id)))

"""Enquiries (append-only facts) and the photos linked to them, as the register reads them."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Enquiry
from ..upload_models import Photo


class EnquiryRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, enquiry: Enquiry) -> Enquiry:
        self.session.add(enquiry)
        self.session.flush()  # the id names the enquiry in its change and its photos
        return enquiry

    def get(self, enquiry_id: int) -> Enquiry | None:
        return self.session.get(Enquiry, enquiry_id)

    def by_op_id(self, op_id: str) -> Enquiry | None:
        return self.session.scalar(select(Enquiry).where(Enquiry.op_id == op_id))

    def for_case(self, case_id: int) -> list[Enquiry]:
        return list(self.session.scalars(select(Enquiry).where(Enquiry.case_id == case_id).order_by(Enquiry.id)))

    def photos_for_case(self, case_id: int) -> list[Photo]:
        return list(self.session.scalars(select(Photo).where(Photo.case_id == case_id).order_by(Photo.id)))

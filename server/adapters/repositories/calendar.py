"""The council's term dates (and closures), from which school days are counted."""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..models import TermDate


class TermDateRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def all(self, academic_year: str | None = None) -> list[TermDate]:
        stmt = select(TermDate).order_by(TermDate.start)
        if academic_year:
            stmt = stmt.where(TermDate.academic_year == academic_year)
        return list(self.session.scalars(stmt))

    def replace_years(self, years: Iterable[str], terms: Iterable[TermDate]) -> None:
        """The given academic years now hold exactly `terms` (a reload corrects a year, never mixes two)."""
        self.session.execute(delete(TermDate).where(TermDate.academic_year.in_(list(years))))
        self.session.add_all(list(terms))

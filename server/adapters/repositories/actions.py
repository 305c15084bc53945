"""Alerts and tasks raised by triggers."""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Action


class ActionRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, action: Action) -> Action:
        self.session.add(action)
        return action

    def get(self, action_id: int) -> Action | None:
        return self.session.get(Action, action_id)

    def listing(self, *, case_ids: Iterable[int] | None = None, open_only: bool = False,
                category: str | None = None) -> list[Action]:
        """`case_ids` None: every alert and task, those about no one case included."""
        stmt = select(Action).order_by(Action.id)
        if case_ids is not None:
            stmt = stmt.where(Action.case_id.in_(list(case_ids)))
        if open_only:
            stmt = stmt.where(Action.acknowledged_at.is_(None))
        if category:
            stmt = stmt.where(Action.category == category)
        return list(self.session.scalars(stmt))

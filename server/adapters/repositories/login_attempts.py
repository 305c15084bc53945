"""Sign-in attempts, as the throttle counts them, in a short transaction of their own."""
from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from ..access_models import LoginAttempt, User

THROTTLE_LOCK_SPACE = 0x434D45  # advisory-lock key space of the sign-in throttle (apart from the change-log lock)


class LoginAttempts:
    def __init__(self, session: Session) -> None:
        self.session = session

    @contextmanager
    def own_transaction(self) -> Iterator[LoginAttempts]:
        """A transaction apart from the unit of work's, committed when the block ends: a reservation must be
        seen by concurrent sign-ins before the (slow) password check, whatever the request does afterwards."""
        with Session(bind=self.session.get_bind(), expire_on_commit=False) as own, own.begin():
            yield LoginAttempts(own)

    def lock_keys(self, keys: list[str]) -> None:
        """PostgreSQL: transaction-level advisory locks per throttle key, taken in one global order (no
        deadlock). SQLite needs none: BEGIN IMMEDIATE already serialises writers."""
        if self.session.get_bind().dialect.name != "postgresql":
            return
        for key in sorted({int.from_bytes(hashlib.sha256(k.encode()).digest()[:4], "big", signed=True)
                           for k in keys}):
            self.session.execute(text("SELECT pg_advisory_xact_lock(:space, :key)"),
                                 {"space": THROTTLE_LOCK_SPACE, "key": key})

    def nth_newest_failure(self, n: int, since: datetime, *, username: str | None = None,
                           address: str | None = None) -> datetime | None:
        """When the n-th newest failure (or attempt being checked) of a username or an address happened."""
        who = LoginAttempt.username == username if username is not None else LoginAttempt.address == address
        return self.session.scalar(select(LoginAttempt.at).where(
            who, LoginAttempt.success.is_(False), LoginAttempt.at > since)
            .order_by(LoginAttempt.at.desc()).offset(n - 1).limit(1))

    def reserve(self, username: str, address: str | None, at: datetime) -> int:
        """Record an attempt as a failure until settled; returns its id."""
        attempt = LoginAttempt(username=username[:80], address=address, at=at, success=False)
        self.session.add(attempt)
        self.session.flush()
        return attempt.id

    def credentials(self, username: str) -> tuple[int | None, str | None, bool]:
        """(user id, password hash, active); (None, None, False) for an unknown username."""
        row = self.session.execute(select(User.id, User.password_hash, User.active)
                                   .where(User.username == username)).first()
        return tuple(row) if row else (None, None, False)

    def settle(self, attempt_id: int, success: bool | None) -> None:
        """Mark a reservation a success, or (None) drop it: the password was never checked."""
        row = self.session.get(LoginAttempt, attempt_id)
        if row is not None and success is None:
            self.session.delete(row)
        elif row is not None:
            row.success = success

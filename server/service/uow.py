"""Unit of work: one session, one transaction; commit on success, roll back on any error."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from ..adapters.db import CHANGE_LOG_LOCK_KEY


class UnitOfWork:
    def __init__(self, session_factory: sessionmaker, blobs=None) -> None:
        self.session_factory = session_factory
        self.blobs = blobs

    @contextmanager
    def transaction(self, *, snapshot: bool = False) -> Iterator[Session]:
        """One transaction; `snapshot` reads everything from one snapshot (REPEATABLE READ on PostgreSQL)."""
        session: Session = self.session_factory()
        if snapshot and session.get_bind().dialect.name == "postgresql":
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()


def lock_change_log(session: Session) -> None:
    """Hold the change-log lock until commit so change numbers are handed out in commit order (PostgreSQL).

    SQLite already serialises writers (BEGIN IMMEDIATE), so it needs nothing more.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": CHANGE_LOG_LOCK_KEY})

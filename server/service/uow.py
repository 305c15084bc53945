"""The unit of work: one transaction and the repositories that work inside it.

`Database.transaction()` opens one; it commits when the block ends and rolls back on any error. Service functions
take the `UnitOfWork` it yields and reach storage only through its repositories (`uow.cases`, `uow.assignments`,
`uow.change_log`, ...), so the transaction is owned in one place and a fake unit of work can stand in for the
database in unit tests (tests/unit/service).
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from ..adapters.repositories import AssignmentRepository, CaseRepository, ChangeLog
from ..adapters.repositories import AppliedOps, Devices, Holdings, ReviewItems, SnapshotReads
from ..adapters.repositories import PhotoRepository, UploadRepository
from ..adapters.repositories import (AccountRepository, ActionRepository, AuditLog, EnquiryRepository,
                                    LoginAttempts, ReferralRepository, TermDateRepository)


class UnitOfWork:
    """The repositories of one open transaction, and its savepoints."""

    def __init__(self, session: Session, blobs: Any = None) -> None:
        self.session = session
        self.blobs = blobs
        self.cases = CaseRepository(session)
        self.assignments = AssignmentRepository(session)
        self.change_log = ChangeLog(session)
        self.applied_ops = AppliedOps(session)
        self.devices = Devices(session)
        self.holdings = Holdings(session)
        self.review_items = ReviewItems(session)
        self.snapshots = SnapshotReads(session)
        self.referrals = ReferralRepository(session)
        self.enquiries = EnquiryRepository(session)
        self.actions = ActionRepository(session)
        self.term_dates = TermDateRepository(session)
        self.audit = AuditLog(session)
        self.accounts = AccountRepository(session)
        self.login_attempts = LoginAttempts(session)
        self.uploads = UploadRepository(session)
        self.photos = PhotoRepository(session)

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A part of the transaction that an error undoes alone (one pushed op, say); the error propagates."""
        nested = self.session.begin_nested()
        mark = self.change_log.mark()
        try:
            yield
        except BaseException:
            nested.rollback()
            self.change_log.drop_after(mark)  # its change-log rows were never written: forget them too
            raise
        nested.commit()

    def flush(self) -> None:
        self.session.flush()

    @property
    def dialect(self) -> str:
        return self.session.get_bind().dialect.name


class Database:
    """Opens units of work on the register's database."""

    def __init__(self, session_factory: sessionmaker, blobs: Any = None) -> None:
        self.session_factory = session_factory
        self.blobs = blobs

    @contextmanager
    def transaction(self, *, snapshot: bool = False) -> Iterator[UnitOfWork]:
        """One transaction; `snapshot` reads everything from one snapshot (REPEATABLE READ on PostgreSQL)."""
        session: Session = self.session_factory()
        if snapshot and session.get_bind().dialect.name == "postgresql":
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        try:
            unit = UnitOfWork(session, self.blobs)
            yield unit
            unit.change_log.write_queued()  # the change-log lock is taken here and released by the commit
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()


def lock_change_log(session: Session | UnitOfWork) -> None:
    """Hold the change-log lock until commit (see `ChangeLog.lock`)."""
    ChangeLog(session.session if isinstance(session, UnitOfWork) else session).lock()

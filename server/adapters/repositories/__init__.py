"""Repositories: the register's queries, one module per aggregate, each over the unit of work's session.

Service functions reach storage only through these (`uow.cases`, `uow.assignments`, ...), so a query asked in
several places ("the open assignments of an officer") is written once, and a fake unit of work can stand in for
the database in unit tests.
"""
from __future__ import annotations

from .accounts import AccountRepository
from .actions import ActionRepository
from .assignments import AssignmentRepository
from .audit import AuditLog
from .calendar import TermDateRepository
from .cases import CaseRepository
from .change_log import ChangeLog
from .sync import AppliedOps, Devices, Holdings, ReviewItems, SnapshotReads
from .enquiries import EnquiryRepository
from .login_attempts import LoginAttempts
from .referrals import ReferralRepository
from .uploads import PhotoRepository, UploadRepository

__all__ = ["AccountRepository", "ActionRepository", "AssignmentRepository", "AuditLog", "CaseRepository",
           "ChangeLog", "EnquiryRepository", "LoginAttempts", "PhotoRepository", "ReferralRepository", "UploadRepository", "TermDateRepository",
           "AppliedOps", "Devices", "Holdings", "ReviewItems", "SnapshotReads"]

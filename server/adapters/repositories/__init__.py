"""Repositories: the register's queries, one module per aggregate, each over the unit of work's session.

Service functions reach storage only through these (`uow.cases`, `uow.assignments`, ...), so a query asked in
several places ("the open assignments of an officer") is written once, and a fake unit of work can stand in for
the database in unit tests.
"""
from __future__ import annotations

from .assignments import AssignmentRepository
from .cases import CaseRepository
from .change_log import ChangeLog

__all__ = ["AssignmentRepository", "CaseRepository", "ChangeLog"]

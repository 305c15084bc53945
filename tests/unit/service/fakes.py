"""An in-memory unit of work for the register's use cases: the same repositories, kept in lists.

The service layer builds the register's records (cases, assignments, referrals, ...) and hands them to the
repositories; these keep them in memory and answer the same questions the SQL repositories answer, so a use case
runs end to end without a database. `FakeUnitOfWork` has the attributes of `server.service.uow.UnitOfWork`
(tests/unit/service/test_fake_unit_of_work.py keeps the two in step).
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from itertools import count
from typing import Any


class _Rows:
    """Rows with ids handed out on add, as the database would."""

    def __init__(self) -> None:
        self.rows: dict[int, Any] = {}
        self._ids = count(1)

    def _keep(self, row: Any) -> Any:
        if getattr(row, "id", None) is None:
            row.id = next(self._ids)
        self.rows[row.id] = row
        return row

    def _all(self) -> list:
        return [self.rows[k] for k in sorted(self.rows)]


class FakeCases(_Rows):
    def __init__(self, referrals: FakeReferrals) -> None:
        super().__init__()
        self._referrals = referrals
        self.locked: set[int] = set()

    def get(self, case_id: int, *, for_update: bool = False) -> Any:
        if for_update and case_id in self.rows:
            self.locked.add(case_id)
        return self.rows.get(case_id)

    def lock_many(self, case_ids: set[int]) -> dict[int, Any]:
        return {cid: self.get(cid, for_update=True) for cid in sorted(case_ids) if cid in self.rows}

    def many(self, case_ids: list[int]) -> list:
        return [c for c in self._all() if c.id in set(case_ids)]

    def add(self, case: Any) -> Any:
        return self._keep(case)

    def first_referral_received(self, case_id: int) -> datetime | None:
        return min((r.received_at for r in self._referrals.for_case(case_id)), default=None)

    def _matching(self, status: str | None, reference: str | None, within: set[int] | None) -> list:
        return [c for c in self._all() if (within is None or c.id in within) and (not status or c.status == status)
                and (not reference or c.reference == reference)]

    def count(self, *, status: str | None = None, reference: str | None = None,
              within: set[int] | None = None) -> int:
        return len(self._matching(status, reference, within))

    def find(self, *, status: str | None = None, reference: str | None = None, within: set[int] | None = None,
             offset: int = 0, limit: int | None = None) -> list:
        rows = self._matching(status, reference, within)[offset:]
        return rows if limit is None else rows[:limit]


class FakeAssignments(_Rows):
    def get(self, assignment_id: int) -> Any:
        return self.rows.get(assignment_id)

    def add(self, assignment: Any) -> Any:
        return self._keep(assignment)

    def _open(self) -> list:
        return [a for a in self._all() if a.ended_at is None]

    def open_for_officer(self, officer_id: int) -> list:
        return [a for a in self._open() if a.officer_id == officer_id]

    def open_case_ids(self, officer_id: int) -> set[int]:
        return {a.case_id for a in self.open_for_officer(officer_id)}

    def open_for_case(self, case_id: int) -> list:
        return [a for a in self._open() if a.case_id == case_id]

    def is_assigned(self, officer_id: int, case_id: int) -> bool:
        return case_id in self.open_case_ids(officer_id)

    def listing(self, *, case_id: int | None = None, officer_id: int | None = None,
                open_only: bool = False) -> list:
        return [a for a in (self._open() if open_only else self._all())
                if (case_id is None or a.case_id == case_id) and (officer_id is None or a.officer_id == officer_id)]


class FakeChangeLog:
    def __init__(self) -> None:
        self.rows: list[dict] = []

    def append(self, case_id: int, version: int, at: datetime, actor_id: int | None, kind: str,
               fields: Iterable[str]) -> dict:
        row = {"seq": len(self.rows) + 1, "case_id": case_id, "version": version, "at": at,
               "actor_id": actor_id, "kind": kind, "fields": sorted(set(fields))}
        self.rows.append(row)
        return row

    def for_case(self, case_id: int) -> list[dict]:
        return [r for r in self.rows if r["case_id"] == case_id]

    def since(self, case_id: int, version: int) -> list[tuple]:
        return [(r["version"], r["kind"], r["actor_id"], r["fields"]) for r in self.for_case(case_id)
                if r["version"] > version]

    def top(self) -> int:
        return len(self.rows)


class FakeReferrals(_Rows):
    def add(self, referral: Any) -> Any:
        return self._keep(referral)

    def by_receipt(self, receipt: str) -> Any:
        return next((r for r in self._all() if r.receipt == receipt), None)

    def receipt_taken(self, receipt: str) -> bool:
        return self.by_receipt(receipt) is not None

    def for_case(self, case_id: int) -> list:
        return [r for r in self._all() if r.case_id == case_id]


class FakeEnquiries(_Rows):
    def __init__(self) -> None:
        super().__init__()
        self.photos: list = []

    def add(self, enquiry: Any) -> Any:
        return self._keep(enquiry)

    def for_case(self, case_id: int) -> list:
        return [e for e in self._all() if e.case_id == case_id]

    def photos_for_case(self, case_id: int) -> list:
        return [p for p in self.photos if p.case_id == case_id]


class FakeActions(_Rows):
    def add(self, action: Any) -> Any:
        return self._keep(action)

    def get(self, action_id: int) -> Any:
        return self.rows.get(action_id)

    def listing(self, *, case_ids: Iterable[int] | None = None, open_only: bool = False,
                category: str | None = None) -> list:
        wanted = None if case_ids is None else set(case_ids)
        return [a for a in self._all() if (wanted is None or a.case_id in wanted)
                and (not open_only or a.acknowledged_at is None) and (not category or a.category == category)]


class FakeTermDates:
    def __init__(self) -> None:
        self.rows: list = []

    def all(self, academic_year: str | None = None) -> list:
        return sorted((t for t in self.rows if not academic_year or t.academic_year == academic_year),
                      key=lambda t: t.start)

    def replace_years(self, years: Iterable[str], terms: Iterable[Any]) -> None:
        years = set(years)
        self.rows = [t for t in self.rows if t.academic_year not in years] + list(terms)


class FakeAuditLog:
    def __init__(self) -> None:
        self.entries: list = []

    def add(self, entry: Any) -> None:
        self.entries.append(entry)

    def _matching(self, case_id: int | None, actor_id: int | None, action: str | None) -> list:
        return [e for e in self.entries if (case_id is None or e.case_id == case_id)
                and (actor_id is None or e.actor_id == actor_id) and (action is None or e.action == action)]

    def count(self, *, case_id: int | None = None, actor_id: int | None = None, action: str | None = None) -> int:
        return len(self._matching(case_id, actor_id, action))

    def page(self, offset: int, limit: int, *, case_id: int | None = None, actor_id: int | None = None,
             action: str | None = None) -> list:
        return self._matching(case_id, actor_id, action)[offset:offset + limit]

    def actions(self) -> list[tuple[str, int | None]]:
        return [(e.action, e.case_id) for e in self.entries]


class FakeAccounts(_Rows):
    def __init__(self) -> None:
        super().__init__()
        self.tokens: list = []
        self.retired: list[tuple[int, int | None]] = []  # (officer, by whom) for each leaver's devices

    def get(self, user_id: int) -> Any:
        return self.rows.get(user_id)

    def add(self, user: Any) -> Any:
        return self._keep(user)

    def username_taken(self, username: str) -> bool:
        return any(u.username == username for u in self._all())

    def listing(self, role: str | None = None) -> list:
        return [u for u in self._all() if not role or u.role == role]

    def any_user(self) -> bool:
        return bool(self.rows)

    def token_id(self, token_hash: str) -> int | None:
        return next((t.id for t in self.tokens if t.token_hash == token_hash), None)

    def revoke_sign_in_tokens(self, user_id: int, at: datetime, *, keep: int | None = None) -> None:
        for t in self.tokens:
            if t.user_id == user_id and t.device_id is None and t.revoked_at is None and t.id != keep:
                t.revoked_at = at

    def retire_devices(self, officer_id: int, at: datetime, by: int | None) -> None:
        self.retired.append((officer_id, by))


class FakeUnitOfWork:
    """What a use case is handed instead of `UnitOfWork`: the register's repositories, in memory."""

    dialect = "fake"

    def __init__(self) -> None:
        self.session = None
        self.blobs = None
        self.referrals = FakeReferrals()
        self.cases = FakeCases(self.referrals)
        self.assignments = FakeAssignments()
        self.change_log = FakeChangeLog()
        self.enquiries = FakeEnquiries()
        self.actions = FakeActions()
        self.term_dates = FakeTermDates()
        self.audit = FakeAuditLog()
        self.accounts = FakeAccounts()

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        yield  # nothing to undo in memory: the register's use cases open no savepoints of their own

    def flush(self) -> None:
        """In memory every write is already visible."""

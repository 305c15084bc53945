"""The fake unit of work stays in step with the real one, and the register's services stay free of queries."""
from __future__ import annotations

import re
from pathlib import Path

from server.service.uow import UnitOfWork

from .fakes import FakeUnitOfWork

SERVICE = Path(__file__).resolve().parents[3] / "server" / "service"
# The register's use cases: each reaches storage only through the unit of work's repositories.
REGISTER_SERVICES = ("access", "cases", "lifecycle", "assignments", "referrals", "enquiries", "actions",
                     "calendar", "audit", "users", "presenters")
QUERY = re.compile(r"\bselect\(|\bsession\.(get|execute|query|scalar|scalars|add|flush)\b|(?<![.\w])(update|delete)\(")
CALL = re.compile(r"\buow\.(\w+)\.(\w+)\(")


class _NoSession:
    """Enough of a session for the repositories' constructors, which only keep it."""


def _used_by_register_services() -> set[tuple[str, str]]:
    sources = [(SERVICE / f"{module}.py").read_text() for module in REGISTER_SERVICES]
    return {m.groups() for source in sources for m in CALL.finditer(source)}


def test_fake_unit_of_work_offers_every_repository_method_the_register_services_use():
    real, fake = UnitOfWork(_NoSession()), FakeUnitOfWork()
    used = _used_by_register_services()
    assert ("assignments", "open_case_ids") in used  # the scan finds the calls
    for repo, method in used:
        assert callable(getattr(getattr(real, repo), method)), f"UnitOfWork.{repo}.{method}"
        assert callable(getattr(getattr(fake, repo), method, None)), f"FakeUnitOfWork.{repo} lacks {method}"
    # changes.bump writes through the change log too
    assert callable(fake.change_log.append) and callable(real.change_log.append)


def test_register_services_write_no_queries_and_take_a_unit_of_work_not_a_session():
    for module in REGISTER_SERVICES:
        source = (SERVICE / f"{module}.py").read_text()
        assert not QUERY.search(source), f"service/{module}.py queries the database itself"
        assert "sqlalchemy" not in source and "session: Session" not in source, module

"""The fake unit of work stays in step with the real one, and every service module stays free of queries."""
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
# The unit of work itself is where the session lives; every other service module reaches storage through it.
ALL_SERVICES = sorted(p.stem for p in SERVICE.glob("*.py") if p.stem not in ("__init__", "uow"))
SQLALCHEMY_IMPORT = re.compile(r"^\s*(from sqlalchemy(?!\.exc\b)|import sqlalchemy)", re.M)


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


def test_no_service_module_writes_a_query_or_takes_a_session():
    # push.py may name sqlalchemy.exc's errors (to tell a duplicate delivery from a transient fault), nothing more.
    assert {"security", "uploads", "upload_quota", "push", "devices"} <= set(ALL_SERVICES)
    for module in ALL_SERVICES:
        source = (SERVICE / f"{module}.py").read_text()
        found = QUERY.search(source)
        assert not found, f"service/{module}.py queries the database itself: {found.group(0)!r}"
        assert not SQLALCHEMY_IMPORT.search(source), f"service/{module}.py imports sqlalchemy"
        assert "session: Session" not in source and "Session(" not in source, module


def test_every_repository_method_a_service_module_calls_exists_on_the_unit_of_work():
    real = UnitOfWork(_NoSession())
    used = {m.groups() for module in ALL_SERVICES for m in CALL.finditer((SERVICE / f"{module}.py").read_text())}
    assert ("accounts", "token") in used and ("uploads", "expired_locked") in used
    for repo, method in used:
        assert callable(getattr(getattr(real, repo), method, None)), f"UnitOfWork.{repo}.{method}"


def test_unit_of_work_does_not_pass_session_methods_through():
    # A service that wrote `uow.execute(select(...))` would otherwise work and dodge the repositories unseen.
    class _Session:
        def execute(self, *_):  # what a pass-through would reach
            raise AssertionError("reached the session through the unit of work")

    unit = UnitOfWork(_Session())
    for name in ("execute", "scalar", "scalars", "get", "add", "query", "delete"):
        assert not hasattr(unit, name), f"UnitOfWork.{name} reaches the session"

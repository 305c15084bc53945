"""One catalogue of problem types (`sync.problems`): every error class takes its code, title and status from it,
and PROTOCOL.md lists every entry, no more."""
from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import pytest

from server.domain.errors import DomainError
from sync.errors import SyncError
from sync.problems import CATALOGUE, PROBLEM_TYPE_BASE, described

ROOT = Path(__file__).resolve().parents[3]
SKIP = ("server.migrations", "server.wsgi")  # alembic scripts run on import; wsgi builds an app


def _import_everything() -> None:
    for package in ("server", "sync", "field_client"):
        module = importlib.import_module(package)
        for info in pkgutil.walk_packages(module.__path__, f"{package}."):
            if not info.name.startswith(SKIP):
                importlib.import_module(info.name)


def _subclasses(base: type) -> list[type]:
    found, todo = [], [base]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def error_classes() -> list[tuple[type, str, str, int]]:
    _import_everything()
    domain = [(c, c.code, c.title, c.status) for c in _subclasses(DomainError)]
    sync = [(c, c.code, c.title, c.http_status) for c in _subclasses(SyncError)]
    return [row for row in domain + sync if row[0].__module__.split(".")[0] != "tests"]


def test_every_error_class_is_a_catalogued_problem_type_with_its_title_and_status():
    rows = error_classes()
    assert len(rows) > 30  # the walk found the classes beside the code that raises them too
    wrong = [(cls.__qualname__, code) for cls, code, title, status in rows
             if code not in CATALOGUE or described(code) != (code, title, status)]
    assert wrong == []


def test_an_error_class_with_an_uncatalogued_code_fails_at_definition():
    with pytest.raises(KeyError):
        class Invented(DomainError):  # noqa: F841 - defining it is the test
            code, title, status = described("made-up-code")


def protocol_md_types() -> dict[str, tuple[int | None, str]]:
    text = (ROOT / "sync" / "PROTOCOL.md").read_text(encoding="utf-8")
    section = text.split("## Problem types", 1)[1]
    rows = re.findall(r"^\| `([a-z0-9-]+)` \| ([^|]+) \| ([^|]+) \|", section, flags=re.M)
    return {code: (int(status) if status.strip().isdigit() else None, title.strip()) for code, status, title in rows}


def test_protocol_md_lists_every_catalogued_type_with_its_status_and_title():
    listed = protocol_md_types()
    assert set(listed) == set(CATALOGUE)
    for code, (status, title) in listed.items():
        assert title == CATALOGUE[code].title, code
        assert status in (None, CATALOGUE[code].status), code


def test_type_uris_are_stable():
    assert CATALOGUE["device-revoked"].type == PROBLEM_TYPE_BASE + "device-revoked"
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", code) for code in CATALOGUE)

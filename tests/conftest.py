"""Shared fixtures: a migrated database per test (SQLite by default, PostgreSQL with CME_TEST_DATABASE_URL),
the app, a test client, and one user of each role with a token."""
from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass

import pytest
from sqlalchemy import create_engine, text

from server.adapters.db import normalise_url
from server.adapters.migrate import upgrade
from server.app import create_app
from server.domain.vocabulary import Role

# Tests (and the client processes they start) may make device stores with a cheap KDF; nothing else may.
os.environ.setdefault("CME_FIELD_TEST_WEAK_KDF", "1")

PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"
ROLES = {"admin": Role.ADMIN, "supervisor": Role.SUPERVISOR, "officer": Role.OFFICER,
         "officer2": Role.OFFICER, "referrer": Role.REFERRER, "integration": Role.INTEGRATION}
PASSWORD = "correct horse battery"


def pg_available(url: str) -> bool:
    try:
        engine = create_engine(normalise_url(url), connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:
        return False


def require_postgres(url: str) -> None:
    """Skip locally when PostgreSQL is absent; in CI its absence is a failure."""
    if not pg_available(url):
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI and is not reachable at {url}")
        pytest.skip("PostgreSQL is not reachable")


def with_search_path(url: str, schema: str) -> str:
    sep = "&" if "?" in url else "?"
    return f"{normalise_url(url)}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture(scope="session")
def pg_schema_factory():
    """Create throwaway PostgreSQL schemas (migrated) and drop them at the end of the session."""
    created: list[tuple[str, str]] = []

    def make(base_url: str) -> str:
        require_postgres(base_url)
        schema = f"cme_test_{uuid.uuid4().hex[:10]}"
        engine = create_engine(normalise_url(base_url))
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine.dispose()
        created.append((base_url, schema))
        url = with_search_path(base_url, schema)
        upgrade(url)
        return url

    yield make
    for base_url, schema in created:
        engine = create_engine(normalise_url(base_url))
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture(scope="session")
def database_template(tmp_path_factory, pg_schema_factory):
    """One migrated database per session: a SQLite file to copy, or a PostgreSQL schema to truncate."""
    pg = os.environ.get("CME_TEST_DATABASE_URL")
    if pg:
        return ("postgresql", pg_schema_factory(pg))
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    upgrade(f"sqlite:///{path}")
    return ("sqlite", str(path))


@pytest.fixture(scope="session")
def password_hash() -> str:
    from server.service.security import hash_password

    return hash_password(PASSWORD)  # hashed once: Argon2 is slow on purpose


def _truncate_all(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        tables = [r[0] for r in conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'alembic_version'"))]
        if tables:
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def database_url(database_template, tmp_path) -> str:
    kind, template = database_template
    if kind == "postgresql":
        _truncate_all(template)
        return template
    path = tmp_path / "cme.sqlite3"
    shutil.copy(template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def app(database_url, tmp_path):
    app = create_app({"DATABASE_URL": database_url, "BLOB_DIR": str(tmp_path / "blobs"), "TESTING": True})
    yield app
    app.extensions["cme"]["engine"].dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@dataclass
class Account:
    id: int
    username: str
    role: Role
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def accounts(app, password_hash) -> dict[str, Account]:
    """One user of each role (two officers), each with a live token."""
    from server.adapters.access_models import User
    from server.service.clock import utcnow
    from server.service.security import issue_token

    out: dict[str, Account] = {}
    with app.extensions["cme"]["uow"].transaction() as unit:
        session = unit.session
        for name, role in ROLES.items():
            user = User(username=name, display_name=f"Test {name}", role=role.value,
                        password_hash=password_hash, active=True, created_at=utcnow())
            session.add(user)
            unit.flush()
            out[name] = Account(user.id, name, role, issue_token(unit, user).token)
    return out


@pytest.fixture
def uow(app):
    return app.extensions["cme"]["uow"]


def pytest_report_header(config):
    return f"database: {'PostgreSQL' if os.environ.get('CME_TEST_DATABASE_URL') else 'SQLite'}"



"""Migration 0006 (issue 7 item 2): devices of accounts disabled before this release are retired, so a leaver's
device left active by the old code still hands in its work and erases itself at its next contact."""
from __future__ import annotations

import os
from datetime import UTC, datetime

from alembic import command
from sqlalchemy import create_engine, text

from server.adapters.db import normalise_url
from server.adapters.migrate import alembic_config, upgrade


def test_devices_of_accounts_disabled_before_the_upgrade_are_retired(tmp_path, pg_schema_factory):
    pg = os.environ.get("CME_TEST_DATABASE_URL")
    url = pg_schema_factory(pg) if pg else f"sqlite:///{tmp_path / 'old.sqlite3'}"
    upgrade(url, "head")
    command.downgrade(alembic_config(normalise_url(url)), "0005")
    now = datetime.now(UTC)
    engine = create_engine(normalise_url(url))
    with engine.begin() as conn:
        for uid, active in ((1, False), (2, True)):
            conn.execute(text("INSERT INTO users (id, username, display_name, role, password_hash, active, "
                              "created_at) VALUES (:id, :u, 'X', 'officer', 'x', :a, :now)"),
                         {"id": uid, "u": f"u{uid}", "a": active, "now": now})
        for did, officer, status in ((1, 1, "active"), (2, 1, "revoked"), (3, 2, "active")):
            conn.execute(text("INSERT INTO devices (id, officer_id, name, status, enrolled_at, offline_ttl_seconds, "
                              "scope_epoch) VALUES (:id, :o, 'tablet', :s, :now, 3600, 0)"),
                         {"id": did, "o": officer, "s": status, "now": now})
    upgrade(url, "head")
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, status, status_changed_at FROM devices ORDER BY id")).all()
    engine.dispose()
    assert [(r[0], r[1]) for r in rows] == [(1, "retired"), (2, "revoked"), (3, "active")]
    assert rows[0][2] is not None and rows[2][2] is None

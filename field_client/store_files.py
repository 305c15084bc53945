"""The device store's files on disk: the SQLite schema and pragmas, opening a connection, and
removing or syncing the files and the names in their directory.

`field_client.store` calls `_connect` and `_remove_files` through its own module globals, so tests
(and the crash tests' child processes) can replace them there to simulate a crash at a given step.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from field_client.store_core import DB_NAME, StoreTampered

_SIDECARS = ("-wal", "-shm", "-journal")
_BUILDING = ".building"  # suffix of a store being built under a temporary name by `Store.create`

_SCHEMA = (
    "CREATE TABLE meta (id INTEGER PRIMARY KEY CHECK (id = 1), header BLOB NOT NULL,"
    " wrapped_key BLOB NOT NULL, key_check BLOB NOT NULL, erased INTEGER NOT NULL DEFAULT 0)",
    "CREATE TABLE records (table_name TEXT NOT NULL, record_id TEXT NOT NULL, version INTEGER NOT NULL,"
    " blob BLOB NOT NULL, PRIMARY KEY (table_name, record_id))",
    "CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, op_id TEXT NOT NULL UNIQUE, case_id TEXT,"
    " kind TEXT NOT NULL, blob BLOB NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT)",
    "CREATE INDEX outbox_by_case ON outbox (case_id, seq)",
    "CREATE TABLE photos (photo_id TEXT NOT NULL, chunk_index INTEGER NOT NULL, blob BLOB NOT NULL,"
    " PRIMARY KEY (photo_id, chunk_index))",
    "CREATE TABLE kv (key TEXT PRIMARY KEY, blob BLOB NOT NULL)",
)
# FULL sync: a write is durable when the call returns. secure_delete zeroes freed pages;
# temp_store=MEMORY keeps SQLite's own scratch data off disk.
_PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA secure_delete=ON",
            "PRAGMA temp_store=MEMORY", "PRAGMA trusted_schema=OFF")


def _db_path(directory: Path | str) -> Path:
    return Path(directory) / DB_NAME


def _remove_files(path: Path) -> None:
    for suffix in ("",) + _SIDECARS:
        Path(str(path) + suffix).unlink(missing_ok=True)


def _remove_leftovers(path: Path) -> None:
    """Delete the temporary files of creations a crash cut short (see `Store.create`); they hold no case data."""
    for leftover in path.parent.glob(f"{path.name}.*{_BUILDING}*"):
        leftover.unlink(missing_ok=True)


def _sync_dir(directory: Path) -> None:
    """Make a new or removed name in `directory` durable (POSIX; elsewhere a directory cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _connect(path: Path, *, create: bool) -> sqlite3.Connection:
    # mode=rw on open so a missing file is never silently created; autocommit, we BEGIN ourselves.
    uri = path.resolve().as_uri() + ("?mode=rwc" if create else "?mode=rw")
    conn = sqlite3.connect(uri, uri=True, isolation_level=None)
    try:
        for pragma in _PRAGMAS:
            conn.execute(pragma)
    except sqlite3.DatabaseError:
        conn.close()
        raise StoreTampered(f"{path} is not a readable store database") from None
    return conn

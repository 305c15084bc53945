"""The device store's files on disk: the SQLite schema and pragmas, opening a connection, removing or syncing the
files and the names in their directory, and `StoreHooks`, the seams where a test stops or kills a create or an
erase at an exact step (passed to `Store.create` / `Store.open`; the defaults do the real thing)."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from field_client.store.errors import StoreDamaged

DB_NAME = "store.db"
SIDECARS = ("-wal", "-shm", "-journal")
BUILDING = ".building"  # suffix of a store being built under a temporary name by `Store.create`

# Only opaque tags (keyed MACs of the real ids) and ciphertext: no case id, op kind, state key or error text in
# clear. WITHOUT ROWID keeps each table one b-tree, so no separate index can disagree with it.
SCHEMA = (
    "CREATE TABLE meta (id INTEGER PRIMARY KEY CHECK (id = 1), header BLOB NOT NULL,"
    " wrapped_key BLOB NOT NULL, key_check BLOB NOT NULL, checksum BLOB NOT NULL, erased INTEGER NOT NULL DEFAULT 0)",
    "CREATE TABLE manifest (id INTEGER PRIMARY KEY CHECK (id = 1), blob BLOB NOT NULL)",
    "CREATE TABLE records (tag TEXT PRIMARY KEY, table_tag TEXT NOT NULL, blob BLOB NOT NULL) WITHOUT ROWID",
    "CREATE INDEX records_by_table ON records (table_tag)",
    "CREATE TABLE outbox (seq INTEGER PRIMARY KEY, op_tag TEXT NOT NULL UNIQUE, case_tag TEXT NOT NULL,"
    " blob BLOB NOT NULL)",
    "CREATE INDEX outbox_by_case ON outbox (case_tag, seq)",
    "CREATE TABLE photos (photo_tag TEXT NOT NULL, chunk_index INTEGER NOT NULL, blob BLOB NOT NULL,"
    " PRIMARY KEY (photo_tag, chunk_index)) WITHOUT ROWID",
    "CREATE TABLE kv (tag TEXT PRIMARY KEY, blob BLOB NOT NULL) WITHOUT ROWID",
)
# FULL sync: a write is durable when the call returns. secure_delete zeroes freed pages;
# temp_store=MEMORY keeps SQLite's own scratch data off disk.
_PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA secure_delete=ON",
            "PRAGMA temp_store=MEMORY", "PRAGMA trusted_schema=OFF")


def db_path(directory: Path | str) -> Path:
    return Path(directory) / DB_NAME


def remove_files(path: Path) -> None:
    for suffix in ("",) + SIDECARS:
        Path(str(path) + suffix).unlink(missing_ok=True)


def _no_step(sql: str) -> None:
    pass


@dataclass(frozen=True)
class StoreHooks:
    """Where a create or an erase can be stopped: crash tests kill the process in one of these, so a crash at
    that exact step is reproduced (a flat battery or SIGKILL runs no clean-up either)."""

    building: Callable[[str], None] = _no_step  # before each SQL statement that builds a new store
    link: Callable[[Path, Path], None] = os.link  # links the built store into place (raises without hard links)
    remove_files: Callable[[Path], None] = remove_files  # deletes a store's files (erase; a finished-off erase)


def remove_leftovers(path: Path) -> None:
    """Delete the temporary files of creations a crash cut short (see `Store.create`); they hold no case data."""
    for leftover in path.parent.glob(f"{path.name}.*{BUILDING}*"):
        leftover.unlink(missing_ok=True)


def sync_dir(directory: Path) -> None:
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


def connect(path: Path, *, create: bool) -> sqlite3.Connection:
    # mode=rw on open so a missing file is never silently created; autocommit, we BEGIN ourselves.
    uri = path.resolve().as_uri() + ("?mode=rwc" if create else "?mode=rw")
    conn = sqlite3.connect(uri, uri=True, isolation_level=None)
    try:
        for pragma in _PRAGMAS:
            conn.execute(pragma)
    except sqlite3.DatabaseError:
        conn.close()
        raise StoreDamaged("the file is not a readable store database") from None
    return conn


def check_pages(conn: sqlite3.Connection) -> None:
    """SQLite's own check of every page, index and freelist: damage below the rows (an interior b-tree page,
    the schema page, an index) is found here at open, not later as a failed write or a missing row."""
    try:
        found = [row[0] for row in conn.execute("PRAGMA integrity_check(5)")]
    except sqlite3.DatabaseError as exc:
        raise StoreDamaged(f"SQLite cannot read it: {exc}") from None
    if found != ["ok"]:
        raise StoreDamaged(f"SQLite's integrity check failed: {'; '.join(map(str, found))[:300]}")

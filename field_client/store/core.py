"""The open store's core, shared by every part: the connection and keys, transactions, row accounting and
sealing, and the integrity check at open.

Every row of every table is written through `insert` / `remove`, which keep the sealed manifest's tally
(`manifest`) in step; the manifest is written in the same SQLite transaction as the rows it vouches for.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from field_client.store.errors import StoreDamaged, StoreError
from field_client.store.manifest import KEY_COLUMNS, Tally, differences, row_mac, scan
from field_client.store.sealing import Keys, dumps, open_manifest, open_sealed, pad, seal_manifest, unpad


class Core:
    """The unlocked connection and keys, with the transaction, sealing and accounting the parts use."""

    def __init__(self, conn: sqlite3.Connection, key: bytes, path: Path, chunk_size: int, tally: Tally) -> None:
        self._conn: sqlite3.Connection | None = conn
        self._keys: Keys | None = Keys(key)
        self.path = path
        self.chunk_size = chunk_size
        self.tally = tally
        self._depth = 0
        self._saved: list[Tally] = []

    @property
    def data_key(self) -> bytes | None:
        return None if self._keys is None else self._keys.data_key

    def db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError("the store is closed")
        return self._conn

    def keys(self) -> Keys:
        if self._keys is None:
            raise StoreError("the store is closed")
        return self._keys

    def use_keys(self, keys: Keys) -> None:
        """Re-keying: from now on seal and tag under `keys` (the caller recounts the tally)."""
        self._keys = keys

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()  # the last close checkpoints and removes -wal/-shm
        self._conn, self._keys = None, None  # drop key references

    def no_transaction(self, action: str) -> sqlite3.Connection:
        conn = self.db()
        if self._depth:
            raise StoreError(f"cannot {action} inside a transaction")
        return conn

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Commit everything in the block at once, or nothing if it raises. Nested blocks are savepoints."""
        conn = self.db()
        name = f"sp{self._depth}"
        outer = self._depth == 0
        conn.execute("BEGIN IMMEDIATE" if outer else f"SAVEPOINT {name}")
        self._depth += 1
        self._saved.append(self.tally.copy())
        try:
            yield
            if outer and self.tally != self._saved[0]:
                self.write_manifest()  # same transaction as the rows it vouches for
            conn.execute("COMMIT" if outer else f"RELEASE {name}")
        except BaseException:
            self.tally = self._saved[-1]
            if outer:
                conn.execute("ROLLBACK")
            else:
                conn.execute(f"ROLLBACK TO {name}")
                conn.execute(f"RELEASE {name}")
            raise
        finally:
            self._saved.pop()
            self._depth -= 1

    def write_manifest(self) -> None:
        self.db().execute("UPDATE manifest SET blob = ? WHERE id = 1", (seal_manifest(self.keys(), self.tally),))

    # ---- rows: every write goes through these two, so the tally always matches the tables -----------
    def insert(self, table: str, keys: tuple[Any, ...], blob: bytes) -> None:
        if not self._depth:
            raise StoreError("rows are written inside a transaction")
        cols = KEY_COLUMNS[table] + ("blob",)
        self.db().execute(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                          keys + (blob,))
        self.tally.add(table, row_mac(self.keys().mac_key, table, keys, blob))

    def remove(self, table: str, where: str, args: tuple[Any, ...]) -> int:
        if not self._depth:
            raise StoreError("rows are removed inside a transaction")
        conn = self.db()
        cols = ", ".join(KEY_COLUMNS[table] + ("blob",))
        rows = conn.execute(f"SELECT {cols} FROM {table} WHERE {where}", args).fetchall()
        for row in rows:
            self.tally.remove(table, row_mac(self.keys().mac_key, table, tuple(row[:-1]), row[-1]))
        conn.execute(f"DELETE FROM {table} WHERE {where}", args)
        return len(rows)

    # ---- sealing (`keys` only while re-keying: read under the old key, write under the new) ----------
    def seal(self, plaintext: bytes, binding: bytes, keys: Keys | None = None) -> bytes:
        return (keys or self.keys()).aead.seal(plaintext, binding)

    def open(self, blob: Any, binding: bytes, what: str, keys: Keys | None = None) -> bytes:
        return open_sealed(keys or self.keys(), blob, binding, what)

    def seal_json(self, value: Any, binding: bytes, keys: Keys | None = None) -> bytes:
        return self.seal(pad(dumps(value)), binding, keys)

    def open_json(self, blob: Any, binding: bytes, what: str, keys: Keys | None = None) -> Any:
        return json.loads(unpad(self.open(blob, binding, what, keys), what))


def verified_tally(conn: sqlite3.Connection, keys: Keys) -> Tally:
    """The sealed manifest, once the tables on disk are shown to add up to it; StoreDamaged otherwise."""
    try:
        row = conn.execute("SELECT blob FROM manifest WHERE id = 1").fetchone()
        sealed = open_manifest(keys, row[0] if row else None)
        found = scan(conn, keys.mac_key, sealed.next_seq)
        top = conn.execute("SELECT MAX(seq) FROM outbox").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise StoreDamaged(f"SQLite cannot read it: {exc}") from None
    problems = differences(sealed, found, top)
    if problems:
        raise StoreDamaged("; ".join(problems))
    return sealed

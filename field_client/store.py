"""Encrypted device store: one SQLite file (`<dir>/store.db`) holding only ciphertext and non-personal ids.

Every value is sealed by `crypto.Aead` under the data key with associated data naming where it belongs
(table, id, version; op seq/id/case/kind; photo id, chunk index, is-last; state key), so a byte changed,
a value moved to another row, or a chunk truncated/reordered is refused with StoreTampered.
Plaintext exists only in memory: nothing decrypted is ever handed to SQLite or written to a temp file.
Not detected: rolling the whole file (or a whole row with its version) back to an older copy.

This module has `Store`'s life cycle (create, open, erase), records, sync state and passphrase; the rest
lives beside it: `store_core` (errors, transactions, sealing), `store_outbox`, `store_photos`, and
`store_files` (schema, connections, files on disk). Import everything from here.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

from field_client import crypto
from field_client.store_core import (
    DB_NAME,
    DEFAULT_CHUNK,
    DEFAULT_KDF_N,
    FORMAT,
    PhotoNotFound,
    StoreError,
    StoreErased,
    StoreExists,
    StoreNotFound,
    StoreTampered,
    WrongPassphrase,
    _ad,
    _dumps,
    _need_text,
)
# `_connect` and `_remove_files` are called through this module's globals on purpose: tests replace them
# here (`field_client.store._connect = ...`) to kill or stop a create or erase at an exact step.
from field_client.store_files import (
    _BUILDING,
    _SCHEMA,
    _connect,
    _db_path,
    _remove_files,
    _remove_leftovers,
    _sync_dir,
)
from field_client.store_outbox import OutboxItem, OutboxMixin
from field_client.store_photos import PhotosMixin

__all__ = [
    "DB_NAME", "DEFAULT_CHUNK", "DEFAULT_KDF_N", "FORMAT", "OutboxItem", "PhotoNotFound", "Store",
    "StoreErased", "StoreError", "StoreExists", "StoreNotFound", "StoreTampered", "WrongPassphrase",
]


def _read_envelope(conn: sqlite3.Connection) -> crypto.Envelope:
    try:
        row = conn.execute("SELECT header, wrapped_key, key_check, erased FROM meta WHERE id = 1").fetchone()
    except sqlite3.DatabaseError:
        raise StoreTampered("store key header cannot be read: the file is damaged") from None
    if row is None or not all(isinstance(v, bytes) for v in row[:3]):
        raise StoreTampered("store key header is missing or malformed")
    if row[3]:
        raise StoreErased("this store has been erased")
    return crypto.Envelope(header=row[0], wrapped_key=row[1], key_check=row[2])


def _unlock(conn: sqlite3.Connection, passphrase: str) -> tuple[bytes, crypto.KdfParams, dict[str, Any]]:
    envelope = _read_envelope(conn)
    try:
        params, extra = crypto.parse_header(envelope.header)
        key = crypto.open_envelope(envelope, passphrase)
    except crypto.HeaderError as exc:
        raise StoreTampered(f"store key header rejected: {exc}") from None
    except crypto.PassphraseRejected:
        raise WrongPassphrase("wrong passphrase: the store could not be unlocked") from None
    except crypto.AuthError as exc:
        raise StoreTampered(f"store key material failed its integrity check: {exc}") from None
    if extra.get("format") != FORMAT:
        raise StoreError(f"store format {extra.get('format')!r} is not supported by this client")
    return key, params, extra


def _is_erased(conn: sqlite3.Connection) -> bool:
    """Marked erased? A damaged header is not "erased": opening the store reports the damage."""
    try:
        _read_envelope(conn)
    except StoreErased:
        return True
    except StoreError:
        return False
    return False


def _build(path: Path, envelope: crypto.Envelope) -> None:
    """Write a new, empty store at `path` (which must not exist) and leave it whole in that one file."""
    os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))  # 0600: other users cannot read it
    conn = _connect(path, create=True)
    try:
        conn.execute("BEGIN IMMEDIATE")
        for statement in _SCHEMA:
            conn.execute(statement)
        conn.execute("INSERT INTO meta (id, header, wrapped_key, key_check) VALUES (1, ?, ?, ?)",
                     (envelope.header, envelope.wrapped_key, envelope.key_check))
        conn.execute("COMMIT")
        if conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]:  # the file alone holds the store
            raise StoreError("the new store could not be written out")
    finally:
        conn.close()


class Store(OutboxMixin, PhotosMixin):
    """Use `Store.create` or `Store.open`; the constructor takes an already unlocked connection.

    Outbox methods come from `OutboxMixin`, photo methods from `PhotosMixin`, and `transaction` from `StoreCore`.
    """

    # ---- lifecycle -------------------------------------------------------------------------------
    @classmethod
    def create(cls, directory: Path | str, passphrase: str, *, kdf_n: int = DEFAULT_KDF_N,
               chunk_size: int = DEFAULT_CHUNK) -> Store:
        """Make a new store; StoreExists if one is there. Small kdf_n/chunk_size are for tests."""
        if not isinstance(passphrase, str) or not passphrase:
            raise StoreError("the passphrase must not be empty")
        if not 1024 <= chunk_size <= 16 * DEFAULT_CHUNK:
            raise ValueError("chunk_size must be between 1 KiB and 16 MiB")
        params = crypto.KdfParams.fresh(kdf_n)
        path = _db_path(directory)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if path.exists():
            raise StoreExists(f"a store already exists at {path}")
        # Built whole under a temporary name, then linked into place: a crash part-way leaves no half-made
        # store.db (which could be neither opened nor created again), only a leftover that is removed later.
        temp = path.with_name(f"{path.name}.{crypto.random_bytes(8).hex()}{_BUILDING}")
        key = crypto.new_data_key()
        try:
            envelope = crypto.seal_envelope(key, passphrase, params, {"format": FORMAT, "chunk_size": chunk_size})
            _build(temp, envelope)
            try:  # link, unlike rename, never replaces a file: two creators cannot both win
                os.link(temp, path)
            except FileExistsError:
                raise StoreExists(f"a store already exists at {path}") from None
            except OSError:  # a file system without hard links (FAT, some shares): rename, after a last look
                if path.exists():
                    raise StoreExists(f"a store already exists at {path}") from None
                os.replace(temp, path)
        finally:
            _remove_files(temp)
        _remove_leftovers(path)
        _sync_dir(path.parent)
        return cls(_connect(path, create=False), key, path, chunk_size)

    @classmethod
    def open(cls, directory: Path | str, passphrase: str) -> Store:
        path = _db_path(directory)
        if not path.is_file():
            raise StoreNotFound(f"no store at {path}")
        conn = _connect(path, create=False)
        try:
            key, _, extra = _unlock(conn, passphrase)
        except StoreErased:
            conn.close()
            _remove_files(path)  # finish an erase that a crash cut short: its key is already overwritten
            raise
        except BaseException:
            conn.close()
            raise
        _remove_leftovers(path)
        chunk_size = extra.get("chunk_size")
        if not isinstance(chunk_size, int) or chunk_size < 1:
            conn.close()
            raise StoreTampered("store header has no valid photo chunk size")
        return cls(conn, key, path, chunk_size)

    @staticmethod
    def exists(directory: Path | str) -> bool:
        """A store is there to open; one whose erase was cut short is finished off and counts as absent."""
        path = _db_path(directory)
        if not path.is_file():
            return False
        try:
            conn = _connect(path, create=False)
        except StoreError:
            return True  # damaged, not erased: opening it reports why
        try:
            erased = _is_erased(conn)
        finally:
            conn.close()
        if erased:
            _remove_files(path)
        return not erased

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()  # the last close checkpoints and removes -wal/-shm
        self._conn, self._key, self._aead = None, None, None  # drop key references

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- records ---------------------------------------------------------------------------------
    def put(self, table: str, record_id: str, version: int, data: dict[str, Any]) -> None:
        _need_text(table=table, record_id=record_id)
        if not isinstance(version, int) or isinstance(version, bool):
            raise ValueError("version must be an integer")
        if not isinstance(data, dict):
            raise TypeError("a record must be a dict")
        blob = self._seal(_dumps(data), _ad("record", table, record_id, version))
        with self.transaction():
            self._db().execute("INSERT OR REPLACE INTO records (table_name, record_id, version, blob)"
                               " VALUES (?, ?, ?, ?)", (table, record_id, version, blob))

    def get(self, table: str, record_id: str) -> dict[str, Any] | None:
        row = self._db().execute("SELECT version, blob FROM records WHERE table_name = ? AND record_id = ?",
                                 (table, record_id)).fetchone()
        if row is None:
            return None
        return self._record(table, record_id, row[0], row[1])

    def _record(self, table: str, record_id: str, version: Any, blob: Any) -> dict[str, Any]:
        return self._open_json(blob, _ad("record", table, record_id, version),
                               f"record {table}/{record_id} v{version}")

    def version_of(self, table: str, record_id: str) -> int | None:
        row = self._db().execute("SELECT version FROM records WHERE table_name = ? AND record_id = ?",
                                 (table, record_id)).fetchone()
        return None if row is None else row[0]

    def list(self, table: str) -> list[tuple[str, int, dict[str, Any]]]:
        rows = self._db().execute("SELECT record_id, version, blob FROM records WHERE table_name = ?"
                                  " ORDER BY record_id", (table,)).fetchall()
        return [(rid, ver, self._record(table, rid, ver, blob)) for rid, ver, blob in rows]

    def ids_and_versions(self, table: str) -> list[tuple[str, int]]:
        """Plaintext columns only: cheap enough for a consistency digest over the whole scope."""
        rows = self._db().execute("SELECT record_id, version FROM records WHERE table_name = ?"
                                  " ORDER BY record_id", (table,)).fetchall()
        return [(rid, ver) for rid, ver in rows]

    def delete(self, table: str, record_id: str) -> None:
        with self.transaction():
            self._db().execute("DELETE FROM records WHERE table_name = ? AND record_id = ?", (table, record_id))

    # ---- sync state ------------------------------------------------------------------------------
    def set_state(self, key: str, value: Any) -> None:
        _need_text(key=key)
        blob = self._seal(_dumps(value), _ad("kv", key))
        with self.transaction():
            self._db().execute("INSERT OR REPLACE INTO kv (key, blob) VALUES (?, ?)", (key, blob))

    def get_state(self, key: str, default: Any = None) -> Any:
        row = self._db().execute("SELECT blob FROM kv WHERE key = ?", (key,)).fetchone()
        return default if row is None else self._open_json(row[0], _ad("kv", key), f"state {key!r}")

    # ---- key management --------------------------------------------------------------------------
    def change_passphrase(self, old: str, new: str) -> None:
        """Re-wrap the data key under `new` (fresh salt, same KDF cost); records are not re-encrypted."""
        conn = self._no_transaction("change the passphrase")
        if not isinstance(new, str) or not new:
            raise StoreError("the new passphrase must not be empty")
        key, params, extra = _unlock(conn, old)
        if self._key is None or not crypto.same_bytes(key, self._key):
            raise StoreTampered("the stored key no longer matches this open store")
        fresh = crypto.KdfParams.fresh(params.n, params.r, params.p)
        envelope = crypto.seal_envelope(key, new, fresh, extra)
        with self.transaction():
            conn.execute("UPDATE meta SET header = ?, wrapped_key = ?, key_check = ? WHERE id = 1",
                         (envelope.header, envelope.wrapped_key, envelope.key_check))
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # drop the old wrapping from the WAL

    def erase(self) -> None:
        """Crypto-erase: overwrite the wrapped key in place, then delete the database files."""
        conn = self._no_transaction("erase the store")
        envelope = _read_envelope(conn)
        with self.transaction():
            conn.execute("UPDATE meta SET wrapped_key = ?, key_check = ?, erased = 1 WHERE id = 1",
                         (crypto.random_bytes(len(envelope.wrapped_key)), crypto.random_bytes(32)))
        # Move the overwrite from the WAL into the main file before unlinking, so even a crash
        # between here and the unlink leaves a store that can no longer be unlocked.
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.close()
        _remove_files(self._path)
        _remove_leftovers(self._path)

    def _no_transaction(self, action: str) -> sqlite3.Connection:
        conn = self._db()
        if self._depth:
            raise StoreError(f"cannot {action} inside a transaction")
        return conn

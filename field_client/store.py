"""Encrypted device store: one SQLite file (`<dir>/store.db`) holding only ciphertext and opaque tags.

Every value is sealed by `crypto.Aead` under the data key with associated data naming where it belongs
(record tag; op seq and tags; photo tag, chunk index, is-last; state tag), so a byte changed, a value moved
to another row, or a chunk truncated/reordered is refused with StoreTampered. Row ids are keyed tags of the
real ids (case ids, op ids, state keys never appear in clear) and bodies are padded to size buckets.
Plaintext exists only in memory: nothing decrypted is ever handed to SQLite or written to a temp file.

At open, SQLite's integrity check and the sealed manifest (`store_manifest`) find damage and tampering below
and across rows (a bad page or index, a deleted or rolled-back row) and raise StoreDamaged. Not detected:
the whole file rolled back to an older copy.

This module has `Store`'s life cycle (create, open, erase), records and sync state; the rest lives beside it:
`store_core` (errors, transactions, sealing), `store_keys` (envelope, passphrase change and re-keying),
`store_manifest`, `store_records`, `store_outbox`, `store_photos`, and `store_files` (schema, connections,
files on disk).
Import everything from here.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from field_client import crypto, passphrase_policy
from field_client.store_core import (
    DB_NAME,
    DEFAULT_CHUNK,
    DEFAULT_KDF_N,
    FORMAT,
    Keys,
    PhotoNotFound,
    StoreDamaged,
    StoreError,
    StoreErased,
    StoreExists,
    StoreNotFound,
    StoreTampered,
    WeakKdf,
    WeakPassphrase,
    WrongPassphrase,
    open_manifest,
    seal_manifest,
    weak_kdf_allowed,
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
    check_pages,
)
from field_client.store_keys import KeysMixin, choose_params, envelope_row, read_envelope, unlock
from field_client.store_manifest import Tally, differences, scan
from field_client.store_outbox import OutboxItem, OutboxMixin
from field_client.store_photos import PhotosMixin
from field_client.store_records import RecordsMixin

__all__ = [
    "DB_NAME", "DEFAULT_CHUNK", "DEFAULT_KDF_N", "FORMAT", "OutboxItem", "PhotoNotFound", "Store", "StoreDamaged",
    "StoreErased", "StoreError", "StoreExists", "StoreNotFound", "StoreTampered", "WeakKdf", "WeakPassphrase",
    "WrongPassphrase",
]


def _is_erased(conn: sqlite3.Connection) -> bool:
    """Marked erased? A damaged header is not "erased": opening the store reports the damage."""
    try:
        read_envelope(conn)
    except StoreErased:
        return True
    except StoreError:
        return False
    return False


def _build(path: Path, envelope: crypto.Envelope, manifest: bytes) -> None:
    """Write a new, empty store at `path` (which must not exist) and leave it whole in that one file."""
    os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))  # 0600: other users cannot read it
    conn = _connect(path, create=True)
    try:
        conn.execute("BEGIN IMMEDIATE")
        for statement in _SCHEMA:
            conn.execute(statement)
        conn.execute("INSERT INTO meta (id, header, wrapped_key, key_check, checksum) VALUES (1, ?, ?, ?, ?)",
                     envelope_row(envelope))
        conn.execute("INSERT INTO manifest (id, blob) VALUES (1, ?)", (manifest,))
        conn.execute("COMMIT")
        if conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]:  # the file alone holds the store
            raise StoreError("the new store could not be written out")
    finally:
        conn.close()


def _verified_tally(conn: sqlite3.Connection, keys: Keys) -> Tally:
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


class Store(KeysMixin, RecordsMixin, OutboxMixin, PhotosMixin):
    """Use `Store.create` or `Store.open`; the constructor takes an already unlocked connection.

    Records and state come from `RecordsMixin`, the outbox from `OutboxMixin`, photos from `PhotosMixin`,
    passphrase change from `KeysMixin`, and `transaction` from `StoreCore`.
    """

    # ---- lifecycle -------------------------------------------------------------------------------
    @classmethod
    def create(cls, directory: Path | str, passphrase: str, *, kdf_n: int | None = None,
               chunk_size: int = DEFAULT_CHUNK) -> Store:
        """Make a new store; StoreExists if one is there. The KDF cost is calibrated unless `kdf_n` is given
        (below the minimum only in tests, see `weak_kdf_allowed`); a small chunk_size is for tests."""
        passphrase_policy.check(passphrase)
        if not 1024 <= chunk_size <= 16 * DEFAULT_CHUNK:
            raise ValueError("chunk_size must be between 1 KiB and 16 MiB")
        params = choose_params(kdf_n)
        path = _db_path(directory)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if path.exists():
            raise StoreExists(f"a store already exists at {path}")
        # Built whole under a temporary name, then linked into place: a crash part-way leaves no half-made
        # store.db (which could be neither opened nor created again), only a leftover that is removed later.
        temp = path.with_name(f"{path.name}.{crypto.random_bytes(8).hex()}{_BUILDING}")
        keys = Keys(crypto.new_data_key())
        try:
            envelope = crypto.seal_envelope(keys.data_key, passphrase, params,
                                            {"format": FORMAT, "chunk_size": chunk_size})
            _build(temp, envelope, seal_manifest(keys, Tally()))
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
        return cls(_connect(path, create=False), keys.data_key, path, chunk_size, Tally())

    @classmethod
    def open(cls, directory: Path | str, passphrase: str) -> Store:
        """Unlock and check the store: StoreDamaged for damage or tampering, WrongPassphrase, StoreErased."""
        path = _db_path(directory)
        if not path.is_file():
            raise StoreNotFound(f"no store at {path}")
        conn = _connect(path, create=False)
        try:
            check_pages(conn)
            key, params, extra = unlock(conn, passphrase)
            chunk_size = extra.get("chunk_size")
            if not isinstance(chunk_size, int) or chunk_size < 1:
                raise StoreTampered("store header has no valid photo chunk size")
            tally = _verified_tally(conn, Keys(key))
        except StoreErased:
            conn.close()
            _remove_files(path)  # finish an erase that a crash cut short: its key is already overwritten
            raise
        except BaseException:
            conn.close()
            raise
        _remove_leftovers(path)
        store = cls(conn, key, path, chunk_size, tally)
        if not params.meets_minimum() and not weak_kdf_allowed():
            store.strengthen(passphrase, choose_params(None, params))  # a store from before the minimum
        return store

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
        self._conn, self._keys = None, None  # drop key references

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- key management --------------------------------------------------------------------------
    def _reseal_all(self, old: Keys, new: Keys) -> None:
        self._reseal_records_and_state(old, new)
        self._reseal_outbox(old, new)
        self._reseal_photos(old, new)

    def erase(self) -> None:
        """Crypto-erase: overwrite the wrapped key in place, then delete the database files."""
        conn = self._no_transaction("erase the store")
        envelope = read_envelope(conn)
        with self.transaction():
            conn.execute("UPDATE meta SET wrapped_key = ?, key_check = ?, erased = 1 WHERE id = 1",
                         (crypto.random_bytes(len(envelope.wrapped_key)), crypto.random_bytes(32)))
        # Move the overwrite from the WAL into the main file before unlinking, so even a crash
        # between here and the unlink leaves a store that can no longer be unlocked.
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.close()
        _remove_files(self._path)
        _remove_leftovers(self._path)

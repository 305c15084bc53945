"""`Store`: the life cycle of the encrypted device store (create, open, erase) and the parts it is made of.

A store is one core (connection, keys, transactions; `core`) and the parts that hold its rows, each an attribute:
`store.records` (case snapshots, visits), `store.state` (sync state), `store.outbox`, `store.photos`, and
`store.passphrase` (change it, re-keying every part). `store.transaction()` spans all of them.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from field_client import crypto, passphrase_policy
from field_client.store.core import Core, verified_tally
from field_client.store.errors import StoreErased, StoreError, StoreExists, StoreNotFound, StoreTampered
from field_client.store.files import (
    BUILDING,
    SCHEMA,
    StoreHooks,
    check_pages,
    connect,
    db_path,
    remove_leftovers,
    sync_dir,
)
from field_client.store.keys import FORMAT, Passphrase, choose_params, envelope_row, read_envelope, unlock
from field_client.store.manifest import Tally
from field_client.store.outbox import Outbox
from field_client.store.photos import Photos
from field_client.store.records import Records, State
from field_client.store.sealing import Keys, seal_manifest, weak_kdf_allowed

DEFAULT_CHUNK = 1024 * 1024
NO_HOOKS = StoreHooks()


def _is_erased(conn: sqlite3.Connection) -> bool:
    """Marked erased? A damaged header is not "erased": opening the store reports the damage."""
    try:
        read_envelope(conn)
    except StoreErased:
        return True
    except StoreError:
        return False
    return False


def _build(path: Path, envelope: crypto.Envelope, manifest: bytes, hooks: StoreHooks) -> None:
    """Write a new, empty store at `path` (which must not exist) and leave it whole in that one file."""
    os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))  # 0600: other users cannot read it
    conn = connect(path, create=True)

    def run(sql: str, args: tuple[bytes, ...] = ()) -> sqlite3.Cursor:
        hooks.building(sql)
        return conn.execute(sql, args)

    try:
        run("BEGIN IMMEDIATE")
        for statement in SCHEMA:
            run(statement)
        run("INSERT INTO meta (id, header, wrapped_key, key_check, checksum) VALUES (1, ?, ?, ?, ?)",
            envelope_row(envelope))
        run("INSERT INTO manifest (id, blob) VALUES (1, ?)", (manifest,))
        run("COMMIT")
        if run("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]:  # the file alone holds the store
            raise StoreError("the new store could not be written out")
    finally:
        conn.close()


def _link_into_place(temp: Path, path: Path, hooks: StoreHooks) -> None:
    try:  # link, unlike rename, never replaces a file: two creators cannot both win
        hooks.link(temp, path)
    except FileExistsError:
        raise StoreExists(f"a store already exists at {path}") from None
    except OSError:  # a file system without hard links (FAT, some shares): rename, after a last look
        if path.exists():
            raise StoreExists(f"a store already exists at {path}") from None
        os.replace(temp, path)


class Store:
    """Use `Store.create` or `Store.open`. `hooks` (tests only) stop a create or erase at an exact step."""

    def __init__(self, core: Core, hooks: StoreHooks = NO_HOOKS) -> None:
        self.core = core
        self.records = Records(core)
        self.state = State(core)
        self.outbox = Outbox(core)
        self.photos = Photos(core)
        self.passphrase = Passphrase(core, (self.records, self.state, self.outbox, self.photos))
        self._hooks = hooks

    @classmethod
    def create(cls, directory: Path | str, passphrase: str, *, kdf_n: int | None = None,
               chunk_size: int = DEFAULT_CHUNK, hooks: StoreHooks = NO_HOOKS) -> Store:
        """Make a new store; StoreExists if one is there. The KDF cost is calibrated unless `kdf_n` is given
        (below the minimum only in tests, see `weak_kdf_allowed`); a small chunk_size is for tests."""
        passphrase_policy.check(passphrase)
        if not 1024 <= chunk_size <= 16 * DEFAULT_CHUNK:
            raise ValueError("chunk_size must be between 1 KiB and 16 MiB")
        params = choose_params(kdf_n)
        path = db_path(directory)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if path.exists():
            raise StoreExists(f"a store already exists at {path}")
        # Built whole under a temporary name, then linked into place: a crash part-way leaves no half-made
        # store.db (which could be neither opened nor created again), only a leftover that is removed later.
        temp = path.with_name(f"{path.name}.{crypto.random_bytes(8).hex()}{BUILDING}")
        keys = Keys(crypto.new_data_key())
        try:
            envelope = crypto.seal_envelope(keys.data_key, passphrase, params,
                                            {"format": FORMAT, "chunk_size": chunk_size})
            _build(temp, envelope, seal_manifest(keys, Tally()), hooks)
            _link_into_place(temp, path, hooks)
        finally:
            hooks.remove_files(temp)
        remove_leftovers(path)
        sync_dir(path.parent)
        return cls(Core(connect(path, create=False), keys.data_key, path, chunk_size, Tally()), hooks)

    @classmethod
    def open(cls, directory: Path | str, passphrase: str, *, hooks: StoreHooks = NO_HOOKS) -> Store:
        """Unlock and check the store: StoreDamaged for damage or tampering, WrongPassphrase, StoreErased."""
        path = db_path(directory)
        if not path.is_file():
            raise StoreNotFound(f"no store at {path}")
        conn = connect(path, create=False)
        try:
            check_pages(conn)
            key, params, extra = unlock(conn, passphrase)
            chunk_size = extra.get("chunk_size")
            if not isinstance(chunk_size, int) or chunk_size < 1:
                raise StoreTampered("store header has no valid photo chunk size")
            tally = verified_tally(conn, Keys(key))
        except StoreErased:
            conn.close()
            hooks.remove_files(path)  # finish an erase that a crash cut short: its key is already overwritten
            raise
        except BaseException:
            conn.close()
            raise
        remove_leftovers(path)
        store = cls(Core(conn, key, path, chunk_size, tally), hooks)
        if not params.meets_minimum() and not weak_kdf_allowed():
            store.passphrase.strengthen(passphrase, choose_params(None, params))  # a store from before the minimum
        return store

    @staticmethod
    def exists(directory: Path | str, *, hooks: StoreHooks = NO_HOOKS) -> bool:
        """A store is there to open; one whose erase was cut short is finished off and counts as absent."""
        path = db_path(directory)
        if not path.is_file():
            return False
        try:
            conn = connect(path, create=False)
        except StoreError:
            return True  # damaged, not erased: opening it reports why
        try:
            erased = _is_erased(conn)
        finally:
            conn.close()
        if erased:
            hooks.remove_files(path)
        return not erased

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """Commit everything in the block, across all parts, at once, or nothing if it raises (nested: savepoints)."""
        with self.core.transaction():
            yield self

    def close(self) -> None:
        self.core.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def erase(self) -> None:
        """Crypto-erase: overwrite the wrapped key in place, then delete the database files."""
        conn = self.core.no_transaction("erase the store")
        envelope = read_envelope(conn)
        with self.core.transaction():
            conn.execute("UPDATE meta SET wrapped_key = ?, key_check = ?, erased = 1 WHERE id = 1",
                         (crypto.random_bytes(len(envelope.wrapped_key)), crypto.random_bytes(32)))
        # Move the overwrite from the WAL into the main file before unlinking, so even a crash
        # between here and the unlink leaves a store that can no longer be unlocked.
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.close()
        self._hooks.remove_files(self.core.path)
        remove_leftovers(self.core.path)

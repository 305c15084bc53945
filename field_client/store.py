"""Encrypted device store: one SQLite file (`<dir>/store.db`) holding only ciphertext and non-personal ids.

Every value is sealed by `crypto.Aead` under the data key with associated data naming where it belongs
(table, id, version; op seq/id/case/kind; photo id, chunk index, is-last; state key), so a byte changed,
a value moved to another row, or a chunk truncated/reordered is refused with StoreTampered.
Plaintext exists only in memory: nothing decrypted is ever handed to SQLite or written to a temp file.
Not detected: rolling the whole file (or a whole row with its version) back to an older copy.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO

from field_client import crypto

DB_NAME = "store.db"
FORMAT = 1
DEFAULT_KDF_N = 2**15
DEFAULT_CHUNK = 1024 * 1024
_SIDECARS = ("-wal", "-shm", "-journal")
_BUILDING = ".building"  # suffix of a store being built under a temporary name by `Store.create`
_MAX_ERROR_LEN = 500

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
_OUTBOX_COLS = "seq, op_id, case_id, kind, blob, attempts, last_error"


class StoreError(Exception):
    """Base of every error the device store raises."""


class StoreExists(StoreError):
    pass


class StoreNotFound(StoreError):
    pass


class StoreErased(StoreError):
    pass


class WrongPassphrase(StoreError):
    pass


class StoreTampered(StoreError):
    """Stored bytes failed authentication: altered, damaged or moved."""


class PhotoNotFound(StoreError):
    pass


@dataclass(frozen=True)
class OutboxItem:
    seq: int
    op_id: str
    case_id: str | None
    kind: str
    op: dict[str, Any]
    attempts: int
    last_error: str | None
    created_at: str = ""  # UTC ISO time of enqueue; kept inside the ciphertext


def _ad(*parts: str | int | bool | None) -> bytes:
    # A JSON list is an unambiguous encoding of the binding, whatever the ids contain.
    return b"cme-field/v1\x00" + json.dumps(parts, separators=(",", ":")).encode("utf-8")


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def _need_text(**values: Any) -> None:
    for name, value in values.items():
        if not isinstance(value, str) or not value:
            raise ValueError(f"{name} must be a non-empty string")


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


def _read_full(stream: BinaryIO, size: int) -> bytes:
    # Streams may return short reads; chunk boundaries must be exact for the offset arithmetic.
    parts, got = [], 0
    while got < size:
        part = stream.read(size - got)
        if not part:
            break
        parts.append(part)
        got += len(part)
    return b"".join(parts)


def _chunks(data: bytes | BinaryIO, size: int) -> Iterator[tuple[bytes, bool]]:
    """Yield (plaintext chunk, is_last); an empty photo is one empty last chunk."""
    stream = io.BytesIO(data) if isinstance(data, (bytes, bytearray, memoryview)) else data
    current = _read_full(stream, size)
    while True:
        following = _read_full(stream, size) if len(current) == size else b""
        yield current, not following
        if not following:
            return
        current = following


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


class Store:
    """Use `Store.create` or `Store.open`; the constructor takes an already unlocked connection."""

    def __init__(self, conn: sqlite3.Connection, key: bytes, path: Path, chunk_size: int) -> None:
        self._conn: sqlite3.Connection | None = conn
        self._key: bytes | None = key
        self._aead: crypto.Aead | None = crypto.Aead(key)
        self._path = path
        self._chunk_size = chunk_size
        self._depth = 0

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
        erased = False
        try:
            _read_envelope(conn)
        except StoreErased:
            erased = True
        except StoreError:
            pass  # damaged, not erased: opening it reports why
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

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError("the store is closed")
        return self._conn

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """Commit everything in the block at once, or nothing if it raises. Nested blocks are savepoints."""
        conn = self._db()
        name = f"sp{self._depth}"
        outer = self._depth == 0
        conn.execute("BEGIN IMMEDIATE" if outer else f"SAVEPOINT {name}")
        self._depth += 1
        try:
            yield self
            conn.execute("COMMIT" if outer else f"RELEASE {name}")
        except BaseException:
            if outer:
                conn.execute("ROLLBACK")
            else:
                conn.execute(f"ROLLBACK TO {name}")
                conn.execute(f"RELEASE {name}")
            raise
        finally:
            self._depth -= 1

    # ---- sealing helpers -------------------------------------------------------------------------
    def _cipher(self) -> crypto.Aead:
        if self._aead is None:
            raise StoreError("the store is closed")
        return self._aead

    def _seal(self, plaintext: bytes, ad: bytes) -> bytes:
        return self._cipher().seal(plaintext, ad)

    def _open(self, blob: Any, ad: bytes, what: str) -> bytes:
        if not isinstance(blob, bytes):
            raise StoreTampered(f"{what} is not ciphertext: the store was altered")
        try:
            return self._cipher().open(blob, ad)
        except crypto.AuthError:
            raise StoreTampered(f"{what} failed its integrity check: the store was altered or damaged") from None

    def _open_json(self, blob: Any, ad: bytes, what: str) -> Any:
        return json.loads(self._open(blob, ad, what))

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

    # ---- outbox ----------------------------------------------------------------------------------
    def enqueue(self, op_id: str, case_id: str | None, kind: str, op: dict[str, Any]) -> None:
        """Queue an op durably. The same op_id again: no-op if identical, StoreError if different."""
        _need_text(op_id=op_id, kind=kind)
        if case_id is not None:
            _need_text(case_id=case_id)
        if not isinstance(op, dict):
            raise TypeError("an op must be a dict")
        body = _dumps({"op": op, "created_at": datetime.now(timezone.utc).isoformat()})
        with self.transaction():
            conn = self._db()
            row = conn.execute(f"SELECT {_OUTBOX_COLS} FROM outbox WHERE op_id = ?", (op_id,)).fetchone()
            if row is not None:
                old = self._item(row)
                if (old.case_id, old.kind, _canonical(old.op)) != (case_id, kind, _canonical(op)):
                    raise StoreError(f"op {op_id} is already queued with different content")
                return
            # seq is bound into the AD so rows cannot be reordered; it is known only after the insert.
            seq = conn.execute("INSERT INTO outbox (op_id, case_id, kind, blob) VALUES (?, ?, ?, x'')",
                               (op_id, case_id, kind)).lastrowid
            blob = self._seal(body, _ad("outbox", seq, op_id, case_id, kind))
            conn.execute("UPDATE outbox SET blob = ? WHERE seq = ?", (blob, seq))

    def _item(self, row: tuple[Any, ...]) -> OutboxItem:
        seq, op_id, case_id, kind, blob, attempts, last_error = row
        body = self._open_json(blob, _ad("outbox", seq, op_id, case_id, kind), f"outbox op {op_id} (seq {seq})")
        return OutboxItem(seq=seq, op_id=op_id, case_id=case_id, kind=kind, op=body["op"], attempts=attempts,
                          last_error=last_error, created_at=body["created_at"])

    def pending(self, limit: int | None = None) -> list[OutboxItem]:
        sql, args = f"SELECT {_OUTBOX_COLS} FROM outbox ORDER BY seq", ()
        if limit is not None:
            sql, args = sql + " LIMIT ?", (max(0, int(limit)),)
        return [self._item(row) for row in self._db().execute(sql, args).fetchall()]

    def pending_for_case(self, case_id: str) -> list[OutboxItem]:
        rows = self._db().execute(f"SELECT {_OUTBOX_COLS} FROM outbox WHERE case_id = ? ORDER BY seq",
                                  (case_id,)).fetchall()
        return [self._item(row) for row in rows]

    def acknowledge(self, op_ids: Iterable[str]) -> None:
        if isinstance(op_ids, str):
            raise TypeError("acknowledge takes an iterable of op ids, not one string")
        with self.transaction():
            self._db().executemany("DELETE FROM outbox WHERE op_id = ?", [(op_id,) for op_id in op_ids])

    def record_attempt(self, op_id: str, error: str | None) -> None:
        """Count a failed or retried push. `error` must be a code or non-personal text: it is stored in clear."""
        error = None if error is None else str(error)[:_MAX_ERROR_LEN]
        with self.transaction():
            self._db().execute("UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE op_id = ?",
                               (error, op_id))

    # ---- photos ----------------------------------------------------------------------------------
    def put_photo(self, photo_id: str, data: bytes | BinaryIO) -> str:
        """Encrypt a photo in chunks (replacing any with the same id); return the plaintext's hex SHA-256."""
        _need_text(photo_id=photo_id)
        digest = hashlib.sha256()
        with self.transaction():
            conn = self._db()
            conn.execute("DELETE FROM photos WHERE photo_id = ?", (photo_id,))
            for index, (chunk, last) in enumerate(_chunks(data, self._chunk_size)):
                digest.update(chunk)
                blob = self._seal(chunk, _ad("photo", photo_id, index, last))
                conn.execute("INSERT INTO photos (photo_id, chunk_index, blob) VALUES (?, ?, ?)",
                             (photo_id, index, blob))
        return digest.hexdigest()

    def _photo_shape(self, photo_id: str) -> tuple[int, int]:
        """(chunk count, plaintext size) from the plaintext columns; chunk contents are checked on read."""
        count, top, total = self._db().execute(
            "SELECT COUNT(*), MAX(chunk_index), SUM(LENGTH(blob)) FROM photos WHERE photo_id = ?",
            (photo_id,)).fetchone()
        if count == 0:
            raise PhotoNotFound(f"no photo {photo_id} in the store")
        if top != count - 1:
            raise StoreTampered(f"photo {photo_id} has missing chunks: the store was altered")
        return count, total - count * crypto.OVERHEAD

    def photo_size(self, photo_id: str) -> int:
        return self._photo_shape(photo_id)[1]

    def iter_photo(self, photo_id: str, start: int = 0, chunk: int = 256 * 1024) -> Iterator[bytes]:
        """Plaintext from byte `start` in pieces of at most `chunk` bytes (resumable uploads)."""
        count, size = self._photo_shape(photo_id)
        if not 0 <= start <= size or chunk < 1:
            raise ValueError(f"offset {start} is outside photo {photo_id} of {size} bytes")
        return self._photo_pieces(photo_id, count, start, chunk)

    def _photo_pieces(self, photo_id: str, count: int, start: int, piece: int) -> Iterator[bytes]:
        first = start // self._chunk_size
        for index in range(first, count):
            last = index == count - 1
            row = self._db().execute("SELECT blob FROM photos WHERE photo_id = ? AND chunk_index = ?",
                                     (photo_id, index)).fetchone()
            plain = self._open(row[0] if row else None, _ad("photo", photo_id, index, last),
                               f"photo {photo_id} chunk {index}")
            if not last and len(plain) != self._chunk_size:
                raise StoreTampered(f"photo {photo_id} chunk {index} has the wrong length")
            view = memoryview(plain)[start - first * self._chunk_size if index == first else 0:]
            for at in range(0, len(view), piece):
                yield bytes(view[at:at + piece])

    def read_photo(self, photo_id: str) -> bytes:
        return b"".join(self.iter_photo(photo_id, 0, self._chunk_size))

    def delete_photo(self, photo_id: str) -> None:
        with self.transaction():
            self._db().execute("DELETE FROM photos WHERE photo_id = ?", (photo_id,))

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

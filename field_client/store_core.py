"""What every part of the device store shares: its errors, constants, the associated-data and padding encodings,
and `StoreCore`, which holds the open connection and keys and does transactions, sealing and row accounting.

Every row of every table is written through `_insert` / `_remove`, which keep the sealed manifest's tally
(`store_manifest`) in step; the manifest is written in the same SQLite transaction as the rows it vouches for.
`field_client.store` re-exports the public names; import them from there.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

from field_client import crypto
from field_client.store_manifest import KEY_COLUMNS, Tally, row_mac

DB_NAME = "store.db"
FORMAT = 2  # 2: opaque row tags, padded sealed bodies, sealed manifest, keyless envelope checksum
DEFAULT_KDF_N = crypto.OWASP_N
DEFAULT_CHUNK = 1024 * 1024
WEAK_KDF_FLAG = "CME_FIELD_TEST_WEAK_KDF"

DAMAGED_ADVICE = ("Nothing more can be read from or sent by this device safely. Do not erase it or enrol again yet:"
                  " it may hold visits not yet sent. Contact your supervisor, who can see what the server last"
                  " received and have this device resynced or re-enrolled.")


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


class WeakPassphrase(StoreError):
    """A new passphrase is too short or too common."""


class WeakKdf(StoreError):
    """A key-derivation cost below the minimum was asked for outside tests."""


class StoreTampered(StoreError):
    """Stored bytes failed authentication: altered, damaged or moved."""


class StoreDamaged(StoreTampered):
    """Found at open: the file, its key header, or the set of rows the manifest vouches for is not intact."""

    def __init__(self, what: str) -> None:
        super().__init__(f"the store is damaged ({what}). {DAMAGED_ADVICE}")
        self.what = what


class PhotoNotFound(StoreError):
    pass


def weak_kdf_allowed() -> bool:
    """Test fixtures set CME_FIELD_TEST_WEAK_KDF=1 to use a cheap KDF; nothing else may weaken a real store."""
    return os.environ.get(WEAK_KDF_FLAG) == "1"


def _ad(*parts: str | int | bool | None) -> bytes:
    # A JSON list is an unambiguous encoding of the binding, whatever the ids contain.
    return b"cme-field/v2\x00" + json.dumps(parts, separators=(",", ":")).encode("utf-8")


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def _need_text(**values: Any) -> None:
    for name, value in values.items():
        if not isinstance(value, str) or not value:
            raise ValueError(f"{name} must be a non-empty string")


def bucket(length: int, cap: int | None = None) -> int:
    """Padded size: powers of two from 64 B to 64 KiB, then whole 64 KiB steps, so a length says little."""
    if length <= 64:
        size = 64
    elif length <= 65536:
        size = 1 << (length - 1).bit_length()
    else:
        size = -(-length // 65536) * 65536
    return size if cap is None else max(length, min(size, cap))


def _pad(data: bytes) -> bytes:
    framed = len(data).to_bytes(4, "big") + data
    return framed + bytes(bucket(len(framed)) - len(framed))


def _unpad(plain: bytes, what: str) -> bytes:
    size = int.from_bytes(plain[:4], "big")
    if len(plain) < 4 or size > len(plain) - 4:
        raise StoreTampered(f"{what} has a bad length frame: the store was altered")
    return plain[4:4 + size]


class Keys:
    """The data key and the keys derived from it: one AEAD for values, one PRF for row tags, one for the tally."""

    def __init__(self, data_key: bytes) -> None:
        self.data_key = data_key
        self.aead = crypto.Aead(data_key)
        self.tag_key = crypto.subkey(data_key, "row-tag")
        self.mac_key = crypto.subkey(data_key, "manifest")

    def tag(self, *parts: str | int | None) -> str:
        """Opaque, deterministic row id: lookups work, yet the column names no case, op or key."""
        return crypto.mac(self.tag_key, _ad(*parts))[:16].hex()


class StoreCore:
    """The unlocked connection and keys, with the transaction, sealing and accounting helpers the parts use."""

    def __init__(self, conn: sqlite3.Connection, key: bytes, path: Path, chunk_size: int, tally: Tally) -> None:
        self._conn: sqlite3.Connection | None = conn
        self._keys: Keys | None = Keys(key)
        self._path = path
        self._chunk_size = chunk_size
        self._depth = 0
        self._tally = tally
        self._saved: list[Tally] = []

    @property
    def _key(self) -> bytes | None:
        return None if self._keys is None else self._keys.data_key

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError("the store is closed")
        return self._conn

    def _k(self) -> Keys:
        if self._keys is None:
            raise StoreError("the store is closed")
        return self._keys

    @contextmanager
    def transaction(self) -> Iterator[Self]:
        """Commit everything in the block at once, or nothing if it raises. Nested blocks are savepoints."""
        conn = self._db()
        name = f"sp{self._depth}"
        outer = self._depth == 0
        conn.execute("BEGIN IMMEDIATE" if outer else f"SAVEPOINT {name}")
        self._depth += 1
        self._saved.append(self._tally.copy())
        try:
            yield self
            if outer and self._tally != self._saved[0]:
                self._write_manifest()  # same transaction as the rows it vouches for
            conn.execute("COMMIT" if outer else f"RELEASE {name}")
        except BaseException:
            self._tally = self._saved[-1]
            if outer:
                conn.execute("ROLLBACK")
            else:
                conn.execute(f"ROLLBACK TO {name}")
                conn.execute(f"RELEASE {name}")
            raise
        finally:
            self._saved.pop()
            self._depth -= 1

    def _write_manifest(self) -> None:
        self._db().execute("UPDATE manifest SET blob = ? WHERE id = 1", (seal_manifest(self._k(), self._tally),))

    # ---- rows: every write goes through these two, so the tally always matches the tables -----------
    def _insert(self, table: str, keys: tuple[Any, ...], blob: bytes) -> None:
        if not self._depth:
            raise StoreError("rows are written inside a transaction")
        cols = KEY_COLUMNS[table] + ("blob",)
        self._db().execute(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                           keys + (blob,))
        self._tally.add(table, row_mac(self._k().mac_key, table, keys, blob))

    def _remove(self, table: str, where: str, args: tuple[Any, ...]) -> int:
        if not self._depth:
            raise StoreError("rows are removed inside a transaction")
        conn = self._db()
        cols = ", ".join(KEY_COLUMNS[table] + ("blob",))
        rows = conn.execute(f"SELECT {cols} FROM {table} WHERE {where}", args).fetchall()
        for row in rows:
            self._tally.remove(table, row_mac(self._k().mac_key, table, tuple(row[:-1]), row[-1]))
        conn.execute(f"DELETE FROM {table} WHERE {where}", args)
        return len(rows)

    # ---- sealing helpers (`keys` only while re-keying: read under the old key, write under the new) ----
    def _seal(self, plaintext: bytes, ad: bytes, keys: Keys | None = None) -> bytes:
        return (keys or self._k()).aead.seal(plaintext, ad)

    def _open(self, blob: Any, ad: bytes, what: str, keys: Keys | None = None) -> bytes:
        return open_sealed(keys or self._k(), blob, ad, what)

    def _seal_json(self, value: Any, ad: bytes, keys: Keys | None = None) -> bytes:
        return self._seal(_pad(_dumps(value)), ad, keys)

    def _open_json(self, blob: Any, ad: bytes, what: str, keys: Keys | None = None) -> Any:
        return json.loads(_unpad(self._open(blob, ad, what, keys), what))


def open_sealed(keys: Keys, blob: Any, ad: bytes, what: str) -> bytes:
    if not isinstance(blob, bytes):
        raise StoreTampered(f"{what} is not ciphertext: the store was altered")
    try:
        return keys.aead.open(blob, ad)
    except crypto.AuthError:
        raise StoreTampered(f"{what} failed its integrity check: the store was altered or damaged") from None


def seal_manifest(keys: Keys, tally: Tally) -> bytes:
    return keys.aead.seal(_pad(_dumps(tally.to_doc())), _ad("manifest"))


def open_manifest(keys: Keys, blob: Any) -> Tally:
    try:
        return Tally.from_doc(json.loads(_unpad(open_sealed(keys, blob, _ad("manifest"), "the manifest"), "manifest")))
    except (StoreTampered, ValueError) as exc:
        raise StoreDamaged(f"its sealed manifest cannot be read: {exc}") from None

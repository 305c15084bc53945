"""What every part of the device store shares: its errors, constants, the associated-data encoding,
and `StoreCore`, which holds the open connection and data key and does transactions and sealing.

`field_client.store` re-exports the public names; import them from there.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

from field_client import crypto

DB_NAME = "store.db"
FORMAT = 1
DEFAULT_KDF_N = 2**15
DEFAULT_CHUNK = 1024 * 1024


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


class StoreCore:
    """The unlocked connection and data key, with the transaction and sealing helpers the other parts use."""

    def __init__(self, conn: sqlite3.Connection, key: bytes, path: Path, chunk_size: int) -> None:
        self._conn: sqlite3.Connection | None = conn
        self._key: bytes | None = key
        self._aead: crypto.Aead | None = crypto.Aead(key)
        self._path = path
        self._chunk_size = chunk_size
        self._depth = 0

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError("the store is closed")
        return self._conn

    @contextmanager
    def transaction(self) -> Iterator[Self]:
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

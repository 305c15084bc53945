"""Photo evidence held in the database itself (DESIGN "Storage and scale": several instances, one database, no
shared disk, one backup for records and evidence).

Chunked rows through SQLAlchemy Core, so the same code runs on PostgreSQL (bytea) and SQLite (BLOB):
- `blob_objects(sha256, size, content_id, created_at)` names a finished blob; its bytes are the
  `blob_chunks(content_id, idx, data)` rows of ROW_BYTES each. A put writes its rows under a fresh content_id
  and then the `blob_objects` row, in one transaction (a savepoint inside the caller's): until that commits
  nothing names the rows, and a mismatch or a failure rolls them back. No partial blob is ever visible.
- An unfinished upload's part is `upload_chunks(upload_id, start, size, data)`, rows of at most ROW_BYTES at
  byte offset `start`, so a PATCH on another instance continues it. An incoming chunk is staged in a local
  temporary file (per request, outside any transaction) and copied into rows by `append_staged`.
- Nothing holds a whole photo: writes go row by row; `open` and `open_part` return readers that fetch one row
  at a time, each with a short connection of their own (or the caller's, inside `within`). A put holds its
  transaction while it reads its source, so it is fed from the database (a part) or a local file, never a client.

SQLite has one writer. A store method that wrote on its own connection while the caller's transaction holds the
write lock would wait for that lock until busy_timeout and fail, so calls made inside a transaction go through
`within(session)`, which uses the session's connection (the upload service does so). On PostgreSQL the same keeps
a part's rows and the upload's offset in one commit.
"""
from __future__ import annotations

import io
import os
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from copy import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import (BigInteger, Column, Connection, Engine, Integer, LargeBinary, String, Table,
                        create_engine, delete, func, insert, select, update)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .blobs import (_SHA256, _UPLOAD_ID, BlobMismatch, BlobStore, PartMissing, Readable, StagedChunk, _copy,
                    _unlink)
from .models import Base
from .types import UTCDateTime

ROW_BYTES = 512 * 1024  # one row of blob_chunks / upload_chunks at most; what a reader holds at a time

blob_objects = Table(
    "blob_objects", Base.metadata,
    Column("sha256", String(64), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("content_id", String(32), nullable=False, unique=True),
    Column("created_at", UTCDateTime(), nullable=False),
)
blob_chunks = Table(
    "blob_chunks", Base.metadata,
    Column("content_id", String(32), primary_key=True),
    Column("idx", Integer, primary_key=True, autoincrement=False),
    Column("data", LargeBinary, nullable=False),
)
upload_chunks = Table(
    "upload_chunks", Base.metadata,
    Column("upload_id", String(32), primary_key=True),
    Column("start", BigInteger, primary_key=True, autoincrement=False),
    Column("size", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),
)


class _AlreadyStored(Exception):
    """Raised inside a put's transaction to roll its rows back: the same content is already stored."""


class DatabaseBlobStore(BlobStore):
    """Blobs and upload parts in the database of `engine`; incoming chunks staged under `staging_dir`."""

    def __init__(self, engine: Engine, staging_dir: str | os.PathLike[str] | None = None) -> None:
        self.engine = engine
        self.reads = _reading_engine(engine)
        self.staging = Path(staging_dir or tempfile.gettempdir())
        self.staging.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._conn: Connection | None = None

    def dispose(self) -> None:
        """Close the pool of SQLite read connections, if this store made one (the engine is the caller's)."""
        if self.reads is not self.engine:
            self.reads.dispose()

    def within(self, session: Session | Connection) -> DatabaseBlobStore:
        """This store working in the caller's transaction: its writes commit or roll back with it."""
        bound = copy(self)
        bound._conn = session.connection() if isinstance(session, Session) else session
        return bound

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """A transaction of our own, or a savepoint in the caller's: every method is all or nothing."""
        if self._conn is not None:
            with self._conn.begin_nested():
                yield self._conn
        else:
            with self.engine.begin() as conn:
                yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        if self._conn is not None:
            yield self._conn
        else:
            with self.reads.connect() as conn:
                yield conn

    # -- blobs --

    def put_stream(self, fileobj: Readable, expected_sha256: str | None = None) -> tuple[str, int]:
        if expected_sha256 is not None:
            _check_sha(expected_sha256)  # validate before reading anything
        content_id = uuid.uuid4().hex
        try:
            with self._write() as conn:
                rows = _RowWriter(lambda idx, _start, data: conn.execute(
                    insert(blob_chunks).values(content_id=content_id, idx=idx, data=data)))
                digest, size = _copy(fileobj, rows, limit=None)
                rows.flush()
                sha = digest.hexdigest()
                if expected_sha256 is not None and sha != expected_sha256:
                    raise BlobMismatch(expected_sha256, sha)
                if conn.scalar(select(blob_objects.c.size).where(blob_objects.c.sha256 == sha)) is not None:
                    raise _AlreadyStored
                conn.execute(insert(blob_objects).values(sha256=sha, size=size, content_id=content_id,
                                                         created_at=datetime.now(UTC)))
        except (_AlreadyStored, IntegrityError):  # IntegrityError: a concurrent put of the same content won
            pass
        return sha, size

    def exists(self, sha256: str) -> bool:
        return self._object(sha256) is not None

    def open(self, sha256: str) -> BinaryIO:
        row = self._object(sha256)
        if row is None:
            raise FileNotFoundError(f"no blob {sha256}")
        content_id, size = row
        return self._reader(size, lambda idx, _pos: select(blob_chunks.c.data).where(
            blob_chunks.c.content_id == content_id, blob_chunks.c.idx == idx))

    def size(self, sha256: str) -> int:
        row = self._object(sha256)
        if row is None:
            raise FileNotFoundError(f"no blob {sha256}")
        return row[1]

    def delete(self, sha256: str) -> None:
        _check_sha(sha256)
        with self._write() as conn:
            content_id = conn.scalar(select(blob_objects.c.content_id).where(blob_objects.c.sha256 == sha256))
            if content_id is not None:
                conn.execute(delete(blob_objects).where(blob_objects.c.sha256 == sha256))
                conn.execute(delete(blob_chunks).where(blob_chunks.c.content_id == content_id))

    def _object(self, sha256: str) -> tuple[str, int] | None:
        _check_sha(sha256)
        with self._read() as conn:
            row = conn.execute(select(blob_objects.c.content_id, blob_objects.c.size)
                               .where(blob_objects.c.sha256 == sha256)).first()
        return None if row is None else (row[0], row[1])

    # -- partial uploads --

    def stage_chunk(self, upload_id: str, fileobj: Readable, limit: int) -> StagedChunk:
        _check_upload_id(upload_id)
        fd, path = tempfile.mkstemp(dir=self.staging, prefix=f"{upload_id}.", suffix=".chunk")
        try:
            with os.fdopen(fd, "wb") as out:
                digest, size = _copy(fileobj, out, limit=limit)
            return StagedChunk(upload_id, path, size, digest.digest())
        except BaseException:
            _unlink(Path(path))
            raise

    def append_staged(self, staged: StagedChunk, at_offset: int) -> int:
        uid = staged.upload_id
        _check_upload_id(uid)
        c = upload_chunks.c
        with open(staged.ref, "rb") as src, self._write() as conn:
            have = conn.scalar(select(func.coalesce(func.max(c.start + c.size), 0)).where(c.upload_id == uid))
            if have < at_offset:
                raise PartMissing(f"part holds {have} bytes, the upload is at {at_offset}")
            # cut back to the offset: bytes past it belong to an append that was never acknowledged
            conn.execute(delete(upload_chunks).where(c.upload_id == uid, c.start >= at_offset))
            straddling = conn.execute(select(c.start, c.data).where(
                c.upload_id == uid, c.start < at_offset, c.start + c.size > at_offset)).first()
            if straddling is not None:
                keep = at_offset - straddling.start
                conn.execute(update(upload_chunks).where(c.upload_id == uid, c.start == straddling.start)
                             .values(size=keep, data=bytes(straddling.data[:keep])))
            rows = _RowWriter(lambda _idx, start, data: conn.execute(insert(upload_chunks).values(
                upload_id=uid, start=start, size=len(data), data=data)), at_offset)
            _copy(src, rows, limit=None)
            rows.flush()
        self.discard_staged(staged)
        return rows.position

    def discard_staged(self, staged: StagedChunk) -> None:
        _unlink(Path(staged.ref))

    def open_part(self, upload_id: str) -> BinaryIO:
        _check_upload_id(upload_id)
        c = upload_chunks.c
        with self._read() as conn:
            row = conn.execute(select(func.count(), func.coalesce(func.max(c.start + c.size), 0))
                               .where(c.upload_id == upload_id)).first()
        if not row[0]:
            raise FileNotFoundError(f"no part of upload {upload_id}")
        return self._reader(row[1], lambda _idx, pos: select(c.data).where(
            c.upload_id == upload_id, c.start == pos))

    def delete_part(self, upload_id: str) -> None:
        _check_upload_id(upload_id)
        with self._write() as conn:
            conn.execute(delete(upload_chunks).where(upload_chunks.c.upload_id == upload_id))
        for staged in self.staging.glob(f"{upload_id}.*.chunk"):  # this instance's; others clean their own
            _unlink(staged)

    def _reader(self, total: int, query: Callable) -> BinaryIO:
        def fetch(idx: int, pos: int) -> bytes:
            with self._read() as conn:
                data = conn.scalar(query(idx, pos))
            if data is None:
                raise OSError(f"stored data changed while it was read (row {idx}, byte {pos})")
            return bytes(data)

        return io.BufferedReader(_RowReader(fetch, total))  # type: ignore[return-value]


class _RowWriter:
    """A write-only sink that gathers bytes into rows of ROW_BYTES and hands each to `emit(idx, start, data)`."""

    def __init__(self, emit: Callable[[int, int, bytes], object], start: int = 0) -> None:
        self.emit, self.idx, self.position, self.buf = emit, 0, start, bytearray()

    def write(self, block: bytes) -> None:
        self.buf += block
        while len(self.buf) >= ROW_BYTES:
            self._emit(bytes(self.buf[:ROW_BYTES]))
            del self.buf[:ROW_BYTES]

    def flush(self) -> None:
        if self.buf:
            self._emit(bytes(self.buf))
            self.buf.clear()

    def _emit(self, data: bytes) -> None:
        self.emit(self.idx, self.position, data)
        self.idx += 1
        self.position += len(data)


class _RowReader(io.RawIOBase):
    """Reads `total` bytes row by row; `fetch(idx, pos)` loads row `idx`, which begins at byte `pos`."""

    def __init__(self, fetch: Callable[[int, int], bytes], total: int) -> None:
        self.fetch, self.total = fetch, total
        self.idx, self.pos, self.row, self.used = 0, 0, b"", 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.used == len(self.row):
            if self.pos >= self.total:
                return 0
            self.row, self.used = self.fetch(self.idx, self.pos), 0
            self.idx += 1
            if not self.row:
                raise OSError(f"stored data ends at byte {self.pos} of {self.total}")
        n = min(len(buffer), len(self.row) - self.used)
        buffer[:n] = self.row[self.used:self.used + n]
        self.used += n
        self.pos += n
        return n


def _reading_engine(engine: Engine) -> Engine:
    """On SQLite the app's engine opens every transaction with BEGIN IMMEDIATE, the one write lock. Reads here are
    single statements, so they go through plain connections (autocommit, a WAL snapshot each): a download never
    waits for a writer, nor a writer for it. A database in memory has no second connection, so it shares."""
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return engine
    return create_engine(engine.url, connect_args={"check_same_thread": False, "timeout": 30})


def _check_sha(sha256: str) -> None:
    if not isinstance(sha256, str) or not _SHA256.match(sha256):
        raise ValueError("a blob is named by 64 lowercase hex characters")


def _check_upload_id(upload_id: str) -> None:
    if not isinstance(upload_id, str) or not _UPLOAD_ID.match(upload_id):
        raise ValueError("an upload id is 32 lowercase hex characters")

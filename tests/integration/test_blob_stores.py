"""The BlobStore contract, run on every store: the filesystem, and the database store on SQLite and on PostgreSQL
(PostgreSQL at CME_TEST_DATABASE_URL, else the local default; skipped locally when absent, required in CI).
Atomic content-addressed puts, streaming in bounded memory, parts that grow by staged chunks and are cut back
to the offset, and (database store) working inside a caller's transaction."""
from __future__ import annotations

import hashlib
import io
import os
import shutil
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select, text

from server.adapters.blobs import CHUNK, BlobMismatch, BlobStore, ChunkTooLarge, FileBlobStore, PartMissing
from server.adapters.db import make_engine
from server.adapters.migrate import upgrade
from server.adapters.pg_blobs import ROW_BYTES, DatabaseBlobStore, blob_chunks, blob_objects, upload_chunks
from tests.conftest import PG_DEFAULT

UPLOAD_ID = "0123456789abcdef0123456789abcdef"
STORES = ["file", "sqlite", "postgresql"]


class Trickle(io.RawIOBase):
    """A stream that records the largest read asked of it and can run a check before each read."""

    def __init__(self, data: bytes, before_read=None, fail_at: int | None = None) -> None:
        self.data, self.pos, self.largest = data, 0, 0
        self.before_read, self.fail_at = before_read, fail_at

    def read(self, size: int = -1) -> bytes:
        self.largest = max(self.largest, size)
        if size < 0:
            raise AssertionError("the store asked for the whole stream at once")
        if self.before_read:
            self.before_read()
        if self.fail_at is not None and self.pos >= self.fail_at:
            raise OSError("connection lost")
        piece = self.data[self.pos:self.pos + min(size, 10_000)]
        self.pos += len(piece)
        return piece


@pytest.fixture(scope="module")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("blobs") / "template.sqlite3"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="module")
def pg_url(pg_schema_factory) -> str:
    return pg_schema_factory(os.environ.get("CME_TEST_DATABASE_URL") or PG_DEFAULT)


@pytest.fixture(params=STORES)
def store(request, tmp_path):
    if request.param == "file":
        yield FileBlobStore(tmp_path / "blobs")
        return
    if request.param == "sqlite":
        shutil.copy(request.getfixturevalue("sqlite_template"), tmp_path / "db.sqlite3")
        engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    else:
        engine = make_engine(request.getfixturevalue("pg_url"))
        with engine.begin() as conn:
            for table in (blob_objects, blob_chunks, upload_chunks):
                conn.execute(delete(table))
    db_store = DatabaseBlobStore(engine, tmp_path / "staging")
    yield db_store
    db_store.dispose()
    engine.dispose()


def leftovers(store: BlobStore) -> list:
    """Temporary files and, in the database, chunk rows that no blob names."""
    if isinstance(store, FileBlobStore):
        return list(store.tmp.iterdir()) + [p for p in store.uploads.iterdir() if p.suffix == ".chunk"]
    with store.engine.connect() as conn:
        orphans = conn.execute(select(blob_chunks.c.content_id).where(
            blob_chunks.c.content_id.not_in(select(blob_objects.c.content_id)))).all()
    return list(store.staging.iterdir()) + orphans


def has_part(store: BlobStore, upload_id: str) -> bool:
    if isinstance(store, FileBlobStore):
        return store.part_path(upload_id).exists()
    with store.engine.connect() as conn:
        return bool(conn.scalar(select(func.count()).where(upload_chunks.c.upload_id == upload_id)))


def stage(store: BlobStore, data: bytes, limit: int = 10 * CHUNK):
    return store.stage_chunk(UPLOAD_ID, io.BytesIO(data), limit=limit)


def read_all(fh, size: int = CHUNK) -> bytes:
    with fh:
        return b"".join(iter(lambda: fh.read(size), b""))


def test_put_is_content_addressed_and_streams_in_chunks(store: BlobStore) -> None:
    data = os.urandom(5 * CHUNK + 123)
    sha = hashlib.sha256(data).hexdigest()
    stream = Trickle(data)
    assert store.put_stream(stream) == (sha, len(data))
    assert stream.largest <= CHUNK
    assert read_all(store.open(sha)) == data and store.exists(sha) and store.size(sha) == len(data)
    assert store.put_stream(io.BytesIO(data), expected_sha256=sha) == (sha, len(data))  # again: a no-op
    assert read_all(store.open(sha)) == data and leftovers(store) == []


def test_no_partial_blob_is_ever_visible(store: BlobStore) -> None:
    data = os.urandom(3 * CHUNK)
    sha = hashlib.sha256(data).hexdigest()
    stream = Trickle(data, before_read=lambda: None if not store.exists(sha) else pytest.fail("visible early"))
    store.put_stream(stream, expected_sha256=sha)
    assert store.exists(sha)


def test_a_failing_stream_leaves_nothing_behind(store: BlobStore) -> None:
    data = os.urandom(3 * CHUNK)
    with pytest.raises(OSError):
        store.put_stream(Trickle(data, fail_at=CHUNK))
    assert not store.exists(hashlib.sha256(data).hexdigest())
    assert leftovers(store) == []


def test_unexpected_content_is_refused_and_not_stored(store: BlobStore) -> None:
    data, other = b"photo bytes" * 100_000, "0" * 64
    with pytest.raises(BlobMismatch) as err:
        store.put_stream(io.BytesIO(data), expected_sha256=other)
    assert err.value.actual == hashlib.sha256(data).hexdigest()
    assert not store.exists(err.value.actual) and not store.exists(other)
    assert leftovers(store) == []


def test_open_reads_in_pieces_and_delete_removes(store: BlobStore) -> None:
    data = os.urandom(2 * CHUNK + 7)
    sha, _ = store.put_stream(io.BytesIO(data))
    assert read_all(store.open(sha), 1000) == data
    store.delete(sha)
    store.delete(sha)  # absent is fine
    assert not store.exists(sha) and leftovers(store) == []
    with pytest.raises(FileNotFoundError):
        store.open(sha)


@pytest.mark.parametrize("name", ["../../etc/passwd", "ABCDEF" + "0" * 58, "0" * 63, ""])
def test_names_that_are_not_sha256_are_refused(store: BlobStore, name: str) -> None:
    with pytest.raises(ValueError):
        store.exists(name)


@pytest.mark.parametrize("upload_id", ["../x", "0" * 31, "G" * 32])
def test_upload_ids_that_are_not_32_hex_are_refused(store: BlobStore, upload_id: str) -> None:
    with pytest.raises(ValueError):
        store.stage_chunk(upload_id, io.BytesIO(b"abc"), limit=10)
    with pytest.raises(ValueError):
        store.delete_part(upload_id)


def test_parts_grow_by_staged_chunks_and_cut_back_to_the_offset(store: BlobStore) -> None:
    first, second = os.urandom(CHUNK + 5), os.urandom(1000)
    staged = stage(store, first)
    assert staged.size == len(first) and staged.digest == hashlib.sha256(first).digest()
    assert store.append_staged(staged, 0) == len(first)
    # an append whose commit never happened: its bytes are past the offset the next append comes at
    store.append_staged(stage(store, b"junk that was never acknowledged"), len(first))
    assert store.append_staged(stage(store, second), len(first)) == len(first) + len(second)
    assert read_all(store.open_part(UPLOAD_ID)) == first + second
    assert leftovers(store) == []


def test_cutting_back_inside_a_stored_row(store: BlobStore) -> None:
    big, tail = os.urandom(2 * ROW_BYTES + 10), os.urandom(3 * CHUNK)
    half = len(big) // 2  # two appends: rows of the database store end at ROW_BYTES and at half
    store.append_staged(stage(store, big[:half], limit=len(big)), 0)
    store.append_staged(stage(store, big[half:], limit=len(big)), half)
    cut = ROW_BYTES + 12_345  # inside the row that starts at half
    assert store.append_staged(stage(store, tail), cut) == cut + len(tail)
    assert read_all(store.open_part(UPLOAD_ID), 777) == big[:cut] + tail
    with store.open_part(UPLOAD_ID) as part:  # a part streams into a blob
        assert store.put_stream(part) == (hashlib.sha256(big[:cut] + tail).hexdigest(), cut + len(tail))


def test_a_part_shorter_than_the_offset_is_reported(store: BlobStore) -> None:
    staged = stage(store, b"abc", limit=10)
    with pytest.raises(PartMissing):
        store.append_staged(staged, 100)
    store.discard_staged(staged)
    assert leftovers(store) == []


def test_too_large_chunk_keeps_nothing_and_delete_part_sweeps(store: BlobStore) -> None:
    with pytest.raises(ChunkTooLarge):
        stage(store, b"x" * 11, limit=10)
    assert leftovers(store) == []
    store.append_staged(stage(store, b"x" * 10, limit=10), 0)
    stage(store, b"y", limit=10)  # staged, never appended
    assert has_part(store, UPLOAD_ID)
    store.delete_part(UPLOAD_ID)
    store.delete_part(UPLOAD_ID)  # absent is fine
    assert not has_part(store, UPLOAD_ID) and leftovers(store) == []
    with pytest.raises(FileNotFoundError):
        store.open_part(UPLOAD_ID)


# -- the database store only --

@pytest.mark.parametrize("store", ["sqlite", "postgresql"], indirect=True)
def test_rows_are_bounded_and_read_one_at_a_time(store: DatabaseBlobStore) -> None:
    data = os.urandom(3 * ROW_BYTES + 7)
    sha, _ = store.put_stream(io.BytesIO(data))
    with store.engine.connect() as conn:
        rows = conn.execute(select(func.length(blob_chunks.c.data))).scalars().all()
    assert sorted(rows) == [7, ROW_BYTES, ROW_BYTES, ROW_BYTES]
    with store.open(sha) as fh:
        assert fh.read(10) == data[:10]
        assert len(fh.raw.row) <= ROW_BYTES and fh.raw.idx == 1  # one row fetched, not the blob


@pytest.mark.parametrize("store", ["sqlite", "postgresql"], indirect=True)
def test_inside_a_caller_transaction_writes_commit_or_roll_back_with_it(store: DatabaseBlobStore) -> None:
    """On SQLite the caller holds the write lock: the store must use its connection, not wait for its own."""
    data = os.urandom(CHUNK + 1)
    with pytest.raises(RuntimeError), store.engine.begin() as conn:
        conn.execute(text("SELECT 1"))  # the transaction (on SQLite, BEGIN IMMEDIATE) is under way
        bound = store.within(conn)
        assert bound.append_staged(stage(store, data), 0) == len(data)
        with bound.open_part(UPLOAD_ID) as part:
            sha, _ = bound.put_stream(part)
        with pytest.raises(BlobMismatch):  # a savepoint: the caller's transaction carries on
            bound.put_stream(io.BytesIO(b"other"), expected_sha256=sha)
        assert bound.exists(sha) and not store.exists(sha)  # not visible outside before the commit
        raise RuntimeError("the caller's transaction fails")
    assert not store.exists(sha) and not has_part(store, UPLOAD_ID) and leftovers(store) == []
    with store.engine.begin() as conn:
        bound = store.within(conn)
        bound.append_staged(stage(store, data), 0)
        with bound.open_part(UPLOAD_ID) as part:
            bound.put_stream(part, expected_sha256=sha)
        bound.delete_part(UPLOAD_ID)
    assert read_all(store.open(sha)) == data and not has_part(store, UPLOAD_ID)

"""The filesystem blob store: atomic content-addressed puts, streaming reads, partial-upload parts."""
from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pytest

from server.adapters.blobs import CHUNK, BlobMismatch, ChunkTooLarge, FileBlobStore, PartMissing

UPLOAD_ID = "0123456789abcdef0123456789abcdef"


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


def leftovers(store: FileBlobStore) -> list[Path]:
    return list(store.tmp.iterdir()) + [p for p in store.uploads.iterdir() if p.suffix == ".chunk"]


@pytest.fixture
def store(tmp_path: Path) -> FileBlobStore:
    return FileBlobStore(tmp_path / "blobs")


def test_put_is_content_addressed_and_streams_in_chunks(store: FileBlobStore) -> None:
    data = os.urandom(5 * CHUNK + 123)
    sha = hashlib.sha256(data).hexdigest()
    stream = Trickle(data)
    assert store.put_stream(stream) == (sha, len(data))
    assert stream.largest <= CHUNK
    path = store.root / sha[:2] / sha[2:4] / sha
    assert path.read_bytes() == data and store.exists(sha) and store.size(sha) == len(data)
    assert leftovers(store) == []


def test_no_partial_blob_is_ever_visible(store: FileBlobStore) -> None:
    data = os.urandom(3 * CHUNK)
    sha = hashlib.sha256(data).hexdigest()
    stream = Trickle(data, before_read=lambda: None if not store.exists(sha) else pytest.fail("visible early"))
    store.put_stream(stream, expected_sha256=sha)
    assert store.exists(sha)


def test_a_failing_stream_leaves_nothing_behind(store: FileBlobStore) -> None:
    data = os.urandom(3 * CHUNK)
    with pytest.raises(OSError):
        store.put_stream(Trickle(data, fail_at=CHUNK))
    assert not store.exists(hashlib.sha256(data).hexdigest())
    assert leftovers(store) == []


def test_unexpected_content_is_refused_and_not_stored(store: FileBlobStore) -> None:
    data, other = b"photo bytes" * 1000, "0" * 64
    with pytest.raises(BlobMismatch) as err:
        store.put_stream(io.BytesIO(data), expected_sha256=other)
    assert err.value.actual == hashlib.sha256(data).hexdigest()
    assert not store.exists(err.value.actual) and not store.exists(other)
    assert leftovers(store) == []


def test_open_reads_in_pieces_and_delete_removes(store: FileBlobStore) -> None:
    data = os.urandom(2 * CHUNK + 7)
    sha, _ = store.put_stream(io.BytesIO(data))
    with store.open(sha) as fh:
        pieces = iter(lambda: fh.read(CHUNK), b"")
        assert b"".join(pieces) == data
    store.delete(sha)
    store.delete(sha)  # absent is fine
    assert not store.exists(sha)
    with pytest.raises(FileNotFoundError):
        store.open(sha)


@pytest.mark.parametrize("name", ["../../etc/passwd", "ABCDEF" + "0" * 58, "0" * 63, ""])
def test_names_that_are_not_sha256_are_refused(store: FileBlobStore, name: str) -> None:
    with pytest.raises(ValueError):
        store.exists(name)


def test_parts_grow_by_staged_chunks_and_cut_back_to_the_offset(store: FileBlobStore) -> None:
    first, second = os.urandom(CHUNK + 5), os.urandom(1000)
    staged = store.stage_chunk(UPLOAD_ID, io.BytesIO(first), limit=10 * CHUNK)
    assert staged.size == len(first) and staged.digest == hashlib.sha256(first).digest()
    assert store.append_staged(staged, 0) == len(first)
    with open(store.part_path(UPLOAD_ID), "ab") as part:  # an append whose commit never happened
        part.write(b"junk that was never acknowledged")
    assert store.append_staged(store.stage_chunk(UPLOAD_ID, io.BytesIO(second), 10 * CHUNK), len(first)) \
        == len(first) + len(second)
    with store.open_part(UPLOAD_ID) as part:
        assert part.read() == first + second
    assert leftovers(store) == []


def test_a_part_shorter_than_the_offset_is_reported(store: FileBlobStore) -> None:
    staged = store.stage_chunk(UPLOAD_ID, io.BytesIO(b"abc"), limit=10)
    with pytest.raises(PartMissing):
        store.append_staged(staged, 100)
    store.discard_staged(staged)
    assert leftovers(store) == []


def test_too_large_chunk_keeps_nothing_and_delete_part_sweeps(store: FileBlobStore) -> None:
    with pytest.raises(ChunkTooLarge):
        store.stage_chunk(UPLOAD_ID, io.BytesIO(b"x" * 11), limit=10)
    assert leftovers(store) == []
    store.append_staged(store.stage_chunk(UPLOAD_ID, io.BytesIO(b"x" * 10), limit=10), 0)
    store.stage_chunk(UPLOAD_ID, io.BytesIO(b"y"), limit=10)  # staged, never appended
    store.delete_part(UPLOAD_ID)
    assert list(store.uploads.iterdir()) == []

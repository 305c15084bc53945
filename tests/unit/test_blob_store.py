"""What is particular to the filesystem blob store: where things lie on disk. The BlobStore contract itself
(atomic puts, streaming, parts, staging) runs on every store in tests/integration/test_blob_stores.py."""
from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pytest

from server.adapters.blobs import CHUNK, FileBlobStore

UPLOAD_ID = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def store(tmp_path: Path) -> FileBlobStore:
    return FileBlobStore(tmp_path / "blobs")


def test_blobs_lie_under_their_hash_and_temporary_files_go(store: FileBlobStore) -> None:
    data = os.urandom(2 * CHUNK + 3)
    sha, size = store.put_stream(io.BytesIO(data))
    assert (store.root / sha[:2] / sha[2:4] / sha).read_bytes() == data and size == len(data)
    assert sha == hashlib.sha256(data).hexdigest() and list(store.tmp.iterdir()) == []


def test_bytes_written_past_the_offset_are_cut_back(store: FileBlobStore) -> None:
    first, second = os.urandom(CHUNK + 5), os.urandom(1000)
    store.append_staged(store.stage_chunk(UPLOAD_ID, io.BytesIO(first), 10 * CHUNK), 0)
    with open(store.part_path(UPLOAD_ID), "ab") as part:  # an append whose commit never happened
        part.write(b"junk that was never acknowledged")
    store.append_staged(store.stage_chunk(UPLOAD_ID, io.BytesIO(second), 10 * CHUNK), len(first))
    assert store.part_path(UPLOAD_ID).read_bytes() == first + second
    store.delete_part(UPLOAD_ID)
    assert list(store.uploads.iterdir()) == []


@pytest.mark.parametrize("upload_id", ["../x", "0" * 31, "G" * 32])
def test_part_names_that_are_not_upload_ids_are_refused(store: FileBlobStore, upload_id: str) -> None:
    with pytest.raises(ValueError):
        store.part_path(upload_id)

"""Photo evidence storage: whole files addressed by SHA-256, and the parts of unfinished (tus) uploads.

DESIGN "Storage and scale": the filesystem by default (one instance); the database itself (`pg_blobs`,
BLOB_STORE=database) when several instances share one database. Nothing here holds a whole file in memory:
every copy goes through `CHUNK`-sized reads.
"""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

CHUNK = 64 * 1024
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")


class BlobError(Exception):
    """Base of blob store errors."""


class BlobMismatch(BlobError):
    """The content's SHA-256 is not the one expected; nothing was stored."""

    def __init__(self, expected: str, actual: str) -> None:
        super().__init__(f"content hashes to {actual}, not {expected}")
        self.expected, self.actual = expected, actual


class ChunkTooLarge(BlobError):
    """A chunk carried more bytes than the caller allowed; nothing was kept."""


class PartMissing(BlobError):
    """An upload's stored part is shorter than its recorded offset (lost or damaged); the upload cannot go on."""


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


@dataclass(frozen=True)
class StagedChunk:
    """A chunk received in full (or until the client went away), held apart until it is appended."""

    upload_id: str
    ref: str  # where the store keeps it (a path for the file store)
    size: int
    digest: bytes  # raw SHA-256 of the chunk, for Upload-Checksum


class BlobStore(ABC):
    """Content-addressed blobs plus partial-upload storage. Implementations must never expose a partial blob."""

    def within(self, session) -> BlobStore:
        """The store as used inside the caller's open transaction (a SQLAlchemy Session or Connection).

        A store that keeps its data in the database works through that transaction (on SQLite, a connection of
        its own would wait for the write lock the caller holds); one that does not returns itself."""
        return self

    @abstractmethod
    def put_stream(self, fileobj: Readable, expected_sha256: str | None = None) -> tuple[str, int]:
        """Store a stream; return (sha256 hex, size). Raise BlobMismatch (storing nothing) if it is not expected."""

    @abstractmethod
    def exists(self, sha256: str) -> bool: ...

    @abstractmethod
    def open(self, sha256: str) -> BinaryIO:
        """A binary file-like object; the caller closes it. FileNotFoundError when absent."""

    @abstractmethod
    def size(self, sha256: str) -> int: ...

    @abstractmethod
    def delete(self, sha256: str) -> None: ...

    # -- partial uploads: a part grows chunk by chunk; the database's offset is the truth, not the part's size --

    @abstractmethod
    def stage_chunk(self, upload_id: str, fileobj: Readable, limit: int) -> StagedChunk:
        """Read a chunk to its end into staging; ChunkTooLarge (keeping nothing) if it exceeds `limit` bytes."""

    @abstractmethod
    def append_staged(self, staged: StagedChunk, at_offset: int) -> int:
        """Cut the part back to `at_offset` (drops bytes of an append that never committed), append the chunk
        durably, drop the staging copy; return the part's new size. PartMissing if the part is too short."""

    @abstractmethod
    def discard_staged(self, staged: StagedChunk) -> None: ...

    @abstractmethod
    def open_part(self, upload_id: str) -> BinaryIO: ...

    @abstractmethod
    def delete_part(self, upload_id: str) -> None:
        """Remove the part and any staged chunks of the upload; absent is fine."""


class FileBlobStore(BlobStore):
    """Blobs at root/ab/cd/<sha256>; parts at root/uploads/<upload_id>.part; temporary files in root/tmp.

    A blob is written to root/tmp (same filesystem, so os.replace is atomic; its hash, and so its directory, is
    known only once the stream ends), fsynced, then renamed into place and its directory fsynced.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.tmp = self.root / "tmp"
        self.uploads = self.root / "uploads"
        for d in (self.root, self.tmp, self.uploads):
            d.mkdir(mode=0o700, parents=True, exist_ok=True)

    def path_for(self, sha256: str) -> Path:
        if not _SHA256.match(sha256):
            raise ValueError("a blob is named by 64 lowercase hex characters")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put_stream(self, fileobj: Readable, expected_sha256: str | None = None) -> tuple[str, int]:
        if expected_sha256 is not None:
            self.path_for(expected_sha256)  # validate before reading anything
        fd, tmp_name = tempfile.mkstemp(dir=self.tmp, prefix="blob-")
        try:
            with os.fdopen(fd, "wb") as out:
                digest, size = _copy(fileobj, out, limit=None)
                out.flush()
                os.fsync(out.fileno())
            sha = digest.hexdigest()
            if expected_sha256 is not None and sha != expected_sha256:
                raise BlobMismatch(expected_sha256, sha)
            final = self.path_for(sha)
            final.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.replace(tmp_name, final)
            _fsync_dir(final.parent)
            return sha, size
        except BaseException:
            _unlink(Path(tmp_name))
            raise

    def exists(self, sha256: str) -> bool:
        return self.path_for(sha256).is_file()

    def open(self, sha256: str) -> BinaryIO:
        return open(self.path_for(sha256), "rb")

    def size(self, sha256: str) -> int:
        return self.path_for(sha256).stat().st_size

    def delete(self, sha256: str) -> None:
        _unlink(self.path_for(sha256))

    def part_path(self, upload_id: str) -> Path:
        if not _UPLOAD_ID.match(upload_id):
            raise ValueError("an upload id is 32 lowercase hex characters")
        return self.uploads / f"{upload_id}.part"

    def stage_chunk(self, upload_id: str, fileobj: Readable, limit: int) -> StagedChunk:
        path = self.part_path(upload_id).with_name(f"{upload_id}.{uuid.uuid4().hex}.chunk")
        try:
            with open(path, "xb") as out:
                digest, size = _copy(fileobj, out, limit=limit)
            return StagedChunk(upload_id, str(path), size, digest.digest())
        except BaseException:
            _unlink(path)
            raise

    def append_staged(self, staged: StagedChunk, at_offset: int) -> int:
        part = self.part_path(staged.upload_id)
        try:
            new_size = self._append(part, staged, at_offset)
        except OSError:
            _cut_back(part, at_offset)  # a full disk mid-append leaves no half-written chunk in the part
            raise
        self.discard_staged(staged)
        return new_size

    def _append(self, part: Path, staged: StagedChunk, at_offset: int) -> int:
        fd = os.open(part, os.O_RDWR | os.O_CREAT, 0o600)
        with os.fdopen(fd, "r+b") as out, open(staged.ref, "rb") as src:
            have = os.fstat(out.fileno()).st_size
            if have < at_offset:
                raise PartMissing(f"part holds {have} bytes, the upload is at {at_offset}")
            out.truncate(at_offset)
            out.seek(at_offset)
            _copy(src, out, limit=None)
            out.flush()
            os.fsync(out.fileno())
            return out.tell()

    def discard_staged(self, staged: StagedChunk) -> None:
        _unlink(Path(staged.ref))

    def open_part(self, upload_id: str) -> BinaryIO:
        return open(self.part_path(upload_id), "rb")

    def delete_part(self, upload_id: str) -> None:
        part = self.part_path(upload_id)
        _unlink(part)
        for staged in self.uploads.glob(f"{upload_id}.*.chunk"):
            _unlink(staged)


def _copy(src: Readable, out: BinaryIO, limit: int | None) -> tuple[hashlib._Hash, int]:
    """Copy in CHUNK reads, hashing as it goes. With a limit, read one byte past it to notice an excess."""
    digest, size = hashlib.sha256(), 0
    while True:
        want = CHUNK if limit is None else min(CHUNK, limit + 1 - size)
        block = src.read(want)
        if not block:
            return digest, size
        size += len(block)
        if limit is not None and size > limit:
            raise ChunkTooLarge(f"more than {limit} bytes")
        digest.update(block)
        out.write(block)


def _fsync_dir(path: Path) -> None:
    """Make a rename durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _cut_back(part: Path, size: int) -> None:
    """Truncate a part to `size` bytes (truncating frees space, so it works on a full disk); absent is fine."""
    try:
        if part.stat().st_size > size:
            os.truncate(part, size)
    except FileNotFoundError:
        pass


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def blob_store_for(app) -> BlobStore:
    """The app's blob store, made once and kept in app.extensions["cme"]: BLOB_STORE "filesystem" (the default:
    files under BLOB_DIR) or "database" (the app's database; BLOB_DIR then holds only per-request staging files)."""
    ext = app.extensions["cme"]
    store = ext.get("blobs")
    if store is None:
        kind = app.config.get("BLOB_STORE") or "filesystem"
        if kind == "filesystem":
            store = FileBlobStore(app.config["BLOB_DIR"])
        elif kind == "database":
            from .pg_blobs import DatabaseBlobStore

            store = DatabaseBlobStore(ext["engine"], Path(app.config["BLOB_DIR"]) / "staging")
        else:
            raise ValueError(f"BLOB_STORE must be 'filesystem' or 'database', not {kind!r}")
        ext["blobs"] = store
    return store

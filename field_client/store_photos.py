"""Photos in the device store: split into fixed-size chunks, each sealed on its own.

A chunk's associated data names its photo, index and whether it is the last, so a chunk that was
swapped, reordered or cut off is refused. Photos can be read from an offset, for resumable uploads.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from typing import BinaryIO

from field_client import crypto
from field_client.store_core import PhotoNotFound, StoreCore, StoreTampered, _ad, _need_text


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


class PhotosMixin(StoreCore):
    """The photo methods of `Store`."""

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

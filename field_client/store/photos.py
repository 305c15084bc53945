"""Photos in the device store (`store.photos`): split into fixed-size chunks, each sealed on its own.

A photo's rows carry only an opaque tag of its id. Row -1 is a sealed header (id, size, chunk count); a chunk's
associated data names the tag, its index and whether it is the last, so a chunk that was swapped, reordered or
cut off is refused. The last chunk is padded to a size bucket, so the exact photo size is only in the header.
Photos can be read from an offset, for resumable uploads.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from typing import Any, BinaryIO

from field_client.store.core import Core
from field_client.store.errors import PhotoNotFound, StoreTampered
from field_client.store.sealing import Keys, ad, bucket, need_text

_HEADER = -1


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


class Photos:
    """Photos by id, encrypted in chunks: `put`, `read`, `stream` (from an offset), `size`, `ids`, `delete`."""

    def __init__(self, core: Core) -> None:
        self._core = core

    def put(self, photo_id: str, data: bytes | BinaryIO) -> str:
        """Encrypt a photo in chunks (replacing any with the same id); return the plaintext's hex SHA-256."""
        need_text(photo_id=photo_id)
        digest, size, count = hashlib.sha256(), 0, 0
        tag = self._core.keys().tag("photo", photo_id)
        with self._core.transaction():
            self._core.remove("photos", "photo_tag = ?", (tag,))
            for index, (chunk, last) in enumerate(_chunks(data, self._core.chunk_size)):
                digest.update(chunk)
                size, count = size + len(chunk), index + 1
                padded = chunk + bytes(bucket(len(chunk), self._core.chunk_size) - len(chunk))
                self._core.insert("photos", (tag, index), self._core.seal(padded, ad("photo", tag, index, last)))
            header = {"id": photo_id, "size": size, "chunks": count}
            self._core.insert("photos", (tag, _HEADER), self._core.seal_json(header, ad("photo", tag, _HEADER)))
        return digest.hexdigest()

    def _header(self, tag: str, blob: Any, keys: Keys | None = None) -> dict[str, Any]:
        head = self._core.open_json(blob, ad("photo", tag, _HEADER), "a photo header", keys)
        if not isinstance(head, dict) or not {"id", "size", "chunks"} <= head.keys():
            raise StoreTampered("a photo header is malformed")
        return head

    def _photo_shape(self, photo_id: str) -> tuple[str, int, int]:
        """(tag, chunk count, plaintext size) from the sealed header; chunk contents are checked on read."""
        tag = self._core.keys().tag("photo", photo_id)
        conn = self._core.db()
        row = conn.execute("SELECT blob FROM photos WHERE photo_tag = ? AND chunk_index = ?", (tag, _HEADER)).fetchone()
        if row is None:
            raise PhotoNotFound(f"no photo {photo_id} in the store")
        head = self._header(tag, row[0])
        if head["id"] != photo_id:
            raise StoreTampered(f"photo {photo_id} has another photo's header: the store was altered")
        count, top = conn.execute("SELECT COUNT(*), MAX(chunk_index) FROM photos WHERE photo_tag = ? AND"
                                  " chunk_index >= 0", (tag,)).fetchone()
        if count != head["chunks"] or top != count - 1:
            raise StoreTampered(f"photo {photo_id} has missing chunks: the store was altered")
        return tag, count, head["size"]

    def size(self, photo_id: str) -> int:
        return self._photo_shape(photo_id)[2]

    def ids(self) -> list[str]:
        rows = self._core.db().execute("SELECT photo_tag, blob FROM photos WHERE chunk_index = ?",
                                       (_HEADER,)).fetchall()
        return sorted(self._header(tag, blob)["id"] for tag, blob in rows)

    def stream(self, photo_id: str, start: int = 0, chunk: int = 256 * 1024) -> Iterator[bytes]:
        """Plaintext from byte `start` in pieces of at most `chunk` bytes (resumable uploads)."""
        tag, count, size = self._photo_shape(photo_id)
        if not 0 <= start <= size or chunk < 1:
            raise ValueError(f"offset {start} is outside photo {photo_id} of {size} bytes")
        return self._photo_pieces(photo_id, tag, (count, size), start, chunk)

    def _photo_pieces(self, photo_id: str, tag: str, shape: tuple[int, int], start: int,
                      piece: int) -> Iterator[bytes]:
        count, size = shape
        first = start // self._core.chunk_size
        for index in range(first, count):
            last = index == count - 1
            want = size - index * self._core.chunk_size if last else self._core.chunk_size
            row = self._core.db().execute("SELECT blob FROM photos WHERE photo_tag = ? AND chunk_index = ?",
                                     (tag, index)).fetchone()
            plain = self._core.open(row[0] if row else None, ad("photo", tag, index, last),
                               f"photo {photo_id} chunk {index}")
            if len(plain) < want or (not last and len(plain) != want):
                raise StoreTampered(f"photo {photo_id} chunk {index} has the wrong length")
            view = memoryview(plain)[:want][start - first * self._core.chunk_size if index == first else 0:]
            for at in range(0, len(view), piece):
                yield bytes(view[at:at + piece])

    def read(self, photo_id: str) -> bytes:
        return b"".join(self.stream(photo_id, 0, self._core.chunk_size))

    def delete(self, photo_id: str) -> None:
        with self._core.transaction():
            self._core.remove("photos", "photo_tag = ?", (self._core.keys().tag("photo", photo_id),))

    def reseal(self, old: Keys, new: Keys) -> None:
        """One photo at a time, so re-keying never holds more than one photo's chunks in memory."""
        conn = self._core.db()
        for tag, blob in conn.execute("SELECT photo_tag, blob FROM photos WHERE chunk_index = ?",
                                      (_HEADER,)).fetchall():
            head = self._header(tag, blob, old)
            new_tag = new.tag("photo", head["id"])
            rows = conn.execute("SELECT chunk_index, blob FROM photos WHERE photo_tag = ? AND chunk_index >= 0",
                                (tag,)).fetchall()
            fresh = [(new_tag, _HEADER, self._core.seal_json(head, ad("photo", new_tag, _HEADER), new))]
            for index, chunk_blob in rows:
                last = index == head["chunks"] - 1
                what = f"photo {head['id']} chunk {index}"
                plain = self._core.open(chunk_blob, ad("photo", tag, index, last), what, old)
                fresh.append((new_tag, index, self._core.seal(plain, ad("photo", new_tag, index, last), new)))
            conn.execute("DELETE FROM photos WHERE photo_tag = ?", (tag,))
            conn.executemany("INSERT INTO photos (photo_tag, chunk_index, blob) VALUES (?, ?, ?)", fresh)

"""Photos travel separately and resumably (DESIGN principle 8).

A captured photo is encrypted into the store under its attach_photo op id, and an entry in the `uploads` state
tracks its tus upload: {"sha256", "size", "content_type", "url", "offset", "done", "error", "attempts"}.
Progress is saved after every accepted chunk, so an interrupted upload resumes from the server's offset on the
next try. The attach_photo op waits in the outbox until its entry is `done`; once the server has answered that
op, the photo and its entry are deleted from the device.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from typing import Any

from field_client import state
from field_client.store import Store
from field_client.sync_transport import SyncTransport
from field_client.transport import TransportError
from sync.backoff import backoff_delays

# PATCH sizes follow the link (see ChunkSizer): start small, aim for about TARGET_SECONDS per chunk.
FIRST_CHUNK, MIN_CHUNK, MAX_CHUNK = 32 * 1024, 16 * 1024, 4 * 1024 * 1024
TARGET_SECONDS = 10.0
MAX_GROWTH = 4  # per chunk: one fast chunk is not yet a fast link
_READ_PIECE = 64 * 1024
_EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/heic": ".heic", "image/webp": ".webp",
               "application/pdf": ".pdf"}

Progress = Callable[[str, int, int | None], None]


def upload_filename(photo_id: str, content_type: str) -> str:
    """The name sent to the server: the op id, never the officer's file name (which may name a family)."""
    return photo_id + _EXTENSIONS.get(content_type, "")


def register(store: Store, photo_id: str, sha256: str, size: int, content_type: str) -> None:
    uploads = store.state.get(state.UPLOADS, {})
    uploads[photo_id] = {"sha256": sha256, "size": size, "content_type": content_type, "url": None,
                         "offset": 0, "done": False, "error": None, "attempts": 0}
    store.state.set(state.UPLOADS, uploads)


def entries(store: Store) -> dict[str, dict[str, Any]]:
    return store.state.get(state.UPLOADS, {})


def is_done(store: Store, photo_id: str) -> bool:
    entry = entries(store).get(photo_id)
    return bool(entry and entry["done"])


def forget(store: Store, photo_id: str) -> None:
    """The server has the attach op: drop the local photo and its upload entry (in one transaction)."""
    with store.transaction():
        uploads = entries(store)
        if uploads.pop(photo_id, None) is not None:
            store.state.set(state.UPLOADS, uploads)
        store.photos.delete(photo_id)


def _update(store: Store, photo_id: str, **changes: Any) -> None:
    uploads = entries(store)
    if photo_id in uploads:
        uploads[photo_id].update(changes)
        store.state.set(state.UPLOADS, uploads)


def next_chunk_size(current: int, sent: int, seconds: float, *, lowest: int = MIN_CHUNK,
                    highest: int = MAX_CHUNK) -> int:
    """The next PATCH size after `sent` bytes took `seconds`: what the measured rate moves in TARGET_SECONDS,
    growing at most MAX_GROWTH-fold, within MIN_CHUNK..MAX_CHUNK. A 2G link (6 KiB/s) settles near 60 KiB, so
    no chunk outlives a server or proxy timeout; a good link reaches 4 MiB, so a photo needs few round trips."""
    if sent <= 0:
        return current
    wanted = int(sent / max(seconds, 1e-3) * TARGET_SECONDS)
    return max(lowest, min(highest, current * MAX_GROWTH, wanted))


class ChunkSizer:
    """The current PATCH size for this sync's link, learnt from each chunk sent, halved after a failure.
    `lowest`/`highest` other than the defaults are for tests that need many small chunks."""

    def __init__(self, first: int = FIRST_CHUNK, clock: Callable[[], float] = time.monotonic, *,
                 lowest: int = MIN_CHUNK, highest: int = MAX_CHUNK) -> None:
        self.size, self.clock, self.bounds = first, clock, (lowest, highest)

    def record(self, sent: int, seconds: float) -> None:
        if sent * 2 >= self.size:  # a photo's short tail says more about latency than about the link
            lowest, highest = self.bounds
            self.size = next_chunk_size(self.size, sent, seconds, lowest=lowest, highest=highest)

    def failed(self) -> None:
        self.size = max(self.bounds[0], self.size // 2)

    def pieces(self, source: Iterator[bytes]) -> Iterator[bytes]:
        """`source`'s bytes regrouped into pieces of the current size. The consumer sends each piece before
        asking for the next, so the time between a yield and the next request is that PATCH's duration."""
        buffer = bytearray()
        for block in source:
            buffer += block
            while len(buffer) >= self.size:
                yield from self._timed(buffer, self.size)
        while buffer:
            yield from self._timed(buffer, len(buffer))

    def _timed(self, buffer: bytearray, size: int) -> Iterator[bytes]:
        piece = bytes(buffer[:size])
        del buffer[:size]
        started = self.clock()
        yield piece
        self.record(len(piece), self.clock() - started)


class PhotoUploader:
    """Uploads every pending photo; a retryable failure is retried (resuming) a few times, then left for later."""

    def __init__(self, store: Store, transport: SyncTransport, sleep: Callable[[float], None],
                 attempts: int = 3, rng: random.Random | None = None, sizer: ChunkSizer | None = None) -> None:
        self.store, self.transport, self.sleep = store, transport, sleep
        self.attempts, self.rng, self.sizer = max(1, attempts), rng, sizer or ChunkSizer()

    def upload_all(self, progress: Progress | None = None) -> tuple[int, int]:
        """Upload what is pending; return (uploaded, failed). Failures are recorded, never raised."""
        pending = [pid for pid, entry in entries(self.store).items() if not entry["done"]]
        uploaded = failed = 0
        for index, photo_id in enumerate(pending):
            if progress:
                progress("photos", index, len(pending))
            if self._upload(photo_id):
                uploaded += 1
            else:
                failed += 1
        if progress and pending:
            progress("photos", len(pending), len(pending))
        return uploaded, failed

    def _upload(self, photo_id: str) -> bool:
        delays = backoff_delays(attempts=self.attempts - 1, rng=self.rng) + [0.0]
        for attempt, delay in enumerate(delays):
            try:
                self._send(photo_id)
                return True
            except TransportError as exc:
                if exc.status is None:  # the link failed mid-chunk: a smaller one is likelier to get through
                    self.sizer.failed()
                entry = entries(self.store).get(photo_id, {})
                _update(self.store, photo_id, error=str(exc)[:200], attempts=entry.get("attempts", 0) + 1)
                if not exc.retryable:
                    _update(self.store, photo_id, url=None, offset=0)  # start afresh next time
                    return False
                if attempt < len(delays) - 1:
                    self.sleep(delay)
        return False

    def _send(self, photo_id: str) -> None:
        entry = entries(self.store)[photo_id]

        def chunks_from(offset: int) -> Iterator[bytes]:
            return self.sizer.pieces(self.store.photos.stream(photo_id, offset, _READ_PIECE))

        def on_progress(url: str, offset: int) -> None:
            _update(self.store, photo_id, url=url, offset=offset)

        url = self.transport.upload_photo(
            entry["url"], entry["size"], entry["sha256"], entry["content_type"], chunks_from,
            on_progress=on_progress, filename=upload_filename(photo_id, entry["content_type"]))
        _update(self.store, photo_id, url=url, offset=entry["size"], done=True, error=None)

"""Photos travel separately and resumably (DESIGN principle 8).

A captured photo is encrypted into the store under its attach_photo op id, and an entry in the `uploads` state
tracks its tus upload: {"sha256", "size", "content_type", "url", "offset", "done", "error", "attempts"}.
Progress is saved after every accepted chunk, so an interrupted upload resumes from the server's offset on the
next try. The attach_photo op waits in the outbox until its entry is `done`; once the server has answered that
op, the photo and its entry are deleted from the device.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from field_client import state
from field_client.store import Store
from field_client.transport import TransportError
from sync.backoff import backoff_delays

UPLOAD_CHUNK = 256 * 1024
_EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/heic": ".heic", "image/webp": ".webp",
               "application/pdf": ".pdf"}

Progress = Callable[[str, int, int | None], None]


def upload_filename(photo_id: str, content_type: str) -> str:
    """The name sent to the server: the op id, never the officer's file name (which may name a family)."""
    return photo_id + _EXTENSIONS.get(content_type, "")


def register(store: Store, photo_id: str, sha256: str, size: int, content_type: str) -> None:
    uploads = store.get_state(state.UPLOADS, {})
    uploads[photo_id] = {"sha256": sha256, "size": size, "content_type": content_type, "url": None,
                         "offset": 0, "done": False, "error": None, "attempts": 0}
    store.set_state(state.UPLOADS, uploads)


def entries(store: Store) -> dict[str, dict[str, Any]]:
    return store.get_state(state.UPLOADS, {})


def is_done(store: Store, photo_id: str) -> bool:
    entry = entries(store).get(photo_id)
    return bool(entry and entry["done"])


def forget(store: Store, photo_id: str) -> None:
    """The server has the attach op: drop the local photo and its upload entry (in one transaction)."""
    with store.transaction():
        uploads = entries(store)
        if uploads.pop(photo_id, None) is not None:
            store.set_state(state.UPLOADS, uploads)
        store.delete_photo(photo_id)


def _update(store: Store, photo_id: str, **changes: Any) -> None:
    uploads = entries(store)
    if photo_id in uploads:
        uploads[photo_id].update(changes)
        store.set_state(state.UPLOADS, uploads)


class PhotoUploader:
    """Uploads every pending photo; a retryable failure is retried (resuming) a few times, then left for later."""

    def __init__(self, store: Store, transport: Any, sleep: Callable[[float], None],
                 attempts: int = 3, rng: random.Random | None = None, chunk: int = UPLOAD_CHUNK) -> None:
        self.store, self.transport, self.sleep = store, transport, sleep
        self.attempts, self.rng, self.chunk = max(1, attempts), rng, chunk

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

        def chunks_from(offset: int) -> Any:
            return self.store.iter_photo(photo_id, offset, self.chunk)

        def on_progress(url: str, offset: int) -> None:
            _update(self.store, photo_id, url=url, offset=offset)

        url = self.transport.upload_photo(
            entry["url"], entry["size"], entry["sha256"], entry["content_type"], chunks_from,
            on_progress=on_progress, filename=upload_filename(photo_id, entry["content_type"]))
        _update(self.store, photo_id, url=url, offset=entry["size"], done=True, error=None)

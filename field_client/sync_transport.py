"""`SyncTransport`: what the sync engine and the photo uploader need from the link to the server.

`field_client.transport.Transport` (HTTP) is the real one; a test may hand the engine anything else with these
methods (a scripted or in-memory fake). Each answer is the server's JSON body, still to be validated by the
caller against `schemas`; failures raise `TransportError` or a `sync.errors` class (see `transport`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol, runtime_checkable

ChunkSource = Callable[[int], Iterable[bytes]]  # offset -> the photo's bytes from there, one PATCH per piece
ProgressSink = Callable[[str, int], None]  # (upload url, offset the server has) after every accepted PATCH


@runtime_checkable
class SyncTransport(Protocol):
    def pull(self, cursor: str | None, limit: int, digest: str | None = None,
             count: int | None = None) -> dict[str, Any]:
        """One page of the device's scope after `cursor` (PROTOCOL.md "Pull"); with the holdings `digest` and
        `count`, the page also answers the consistency check (`check`), or orders a resync."""
        ...

    def push(self, ops: list[dict[str, Any]]) -> dict[str, Any]:
        """Send ops; the answer has a result per op the server judged."""
        ...

    def check(self, digest: str, count: int) -> dict[str, Any]:
        """Compare the holdings digest with the server's (for a server whose pull does not answer `check`)."""
        ...

    def goodbye(self) -> None:
        """A retired device says everything is sent, before it wipes itself."""
        ...

    def upload_photo(self, upload_url: str | None, size: int, sha256: str, content_type: str,
                     chunks_from: ChunkSource, on_progress: ProgressSink | None = None,
                     filename: str | None = None) -> str:
        """Send a photo by tus (resuming `upload_url` when given); return the upload's URL."""
        ...

"""Encrypted device store: one SQLite file (`<dir>/store.db`) holding only ciphertext and opaque tags.

Every value is sealed by `crypto.Aead` under the data key with associated data naming where it belongs
(record tag; op seq and tags; photo tag, chunk index, is-last; state tag), so a byte changed, a value moved
to another row, or a chunk truncated/reordered is refused with StoreTampered. Row ids are keyed tags of the
real ids (case ids, op ids, state keys never appear in clear) and bodies are padded to size buckets.
Plaintext exists only in memory: nothing decrypted is ever handed to SQLite or written to a temp file.

At open, SQLite's integrity check and the sealed manifest (`manifest`) find damage and tampering below
and across rows (a bad page or index, a deleted or rolled-back row) and raise StoreDamaged. Not detected:
the whole file rolled back to an older copy.

Modules by concept: `lifecycle` (`Store`: create, open, erase, and its parts), `core` (connection,
transactions, row accounting, integrity at open), `sealing`, `manifest`, `keys` (envelope, passphrase change
and re-keying), `records` (records and sync state), `outbox`, `photos`, `files` (schema, connections, files
on disk, the crash seams `StoreHooks`), `errors`. Import the public names from here.
"""

from __future__ import annotations

from field_client.store.errors import (
    PhotoNotFound,
    StoreDamaged,
    StoreErased,
    StoreError,
    StoreExists,
    StoreNotFound,
    StoreTampered,
    WeakKdf,
    WeakPassphrase,
    WrongPassphrase,
)
from field_client.store.files import DB_NAME, StoreHooks
from field_client.store.keys import DEFAULT_KDF_N, FORMAT
from field_client.store.lifecycle import DEFAULT_CHUNK, Store
from field_client.store.outbox import OutboxItem

__all__ = [
    "DB_NAME", "DEFAULT_CHUNK", "DEFAULT_KDF_N", "FORMAT", "OutboxItem", "PhotoNotFound", "Store", "StoreDamaged",
    "StoreErased", "StoreError", "StoreExists", "StoreHooks", "StoreNotFound", "StoreTampered", "WeakKdf",
    "WeakPassphrase", "WrongPassphrase",
]

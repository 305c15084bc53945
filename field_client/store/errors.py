"""What the device store raises: every error is a `StoreError`, so a caller can catch the store as one thing."""

from __future__ import annotations

DAMAGED_ADVICE = ("Nothing more can be read from or sent by this device safely. Do not erase it or enrol again yet:"
                  " it may hold visits not yet sent. Contact your supervisor, who can see what the server last"
                  " received and have this device resynced or re-enrolled.")


class StoreError(Exception):
    """Base of every error the device store raises."""


class StoreExists(StoreError):
    pass


class StoreNotFound(StoreError):
    pass


class StoreErased(StoreError):
    pass


class WrongPassphrase(StoreError):
    pass


class WeakPassphrase(StoreError):
    """A new passphrase is too short or too common."""


class WeakKdf(StoreError):
    """A key-derivation cost below the minimum was asked for outside tests."""


class StoreTampered(StoreError):
    """Stored bytes failed authentication: altered, damaged or moved."""


class StoreDamaged(StoreTampered):
    """Found at open: the file, its key header, or the set of rows the manifest vouches for is not intact."""

    def __init__(self, what: str) -> None:
        super().__init__(f"the store is damaged ({what}). {DAMAGED_ADVICE}")
        self.what = what


class PhotoNotFound(StoreError):
    pass

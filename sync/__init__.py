"""The CME sync protocol as pure Python, shared by the server (which judges) and the field client (which predicts).

No Flask, no SQLAlchemy, no cryptography, no I/O: everything here is a function of its arguments, so both sides
reach the same answer for the same input.

Modules:
    vocabulary  enums and protocol constants used on the wire and by the server domain
    ops         the operation envelope (`Op`), its fingerprint, and `validate_payload`, the single judge of an op
    conflicts   which case fields a device may edit, and how a field edit against a stale base is classified
    cursor      opaque pull cursors and the holdings digest (the cheap consistency check)
    errors      `SyncError` and subclasses, each with a stable problem-details code
    backoff     retry delays ("full jitter") and which HTTP statuses are worth retrying
    text        which text (no controls, surrogates, invisible format characters) and instants are plausible

Dependency direction: `schemas` imports `sync`, never the reverse.
"""

"""The device store's key envelope: reading and unlocking it, choosing the KDF cost, and `Passphrase`, the part
that changes the passphrase (rotating the data key) or raises the KDF cost of an open store.

Changing the passphrase rotates the data key: every row is re-sealed under a fresh key (and re-tagged) in the
same SQLite transaction that writes the new envelope, so a crash leaves either the old store or the new one.
Afterwards the old envelope with the old passphrase opens nothing that was written since, and nothing that was
there before either: the old ciphertext is gone from the file (secure_delete, then a WAL checkpoint).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any, Protocol

from field_client import crypto, passphrase_policy
from field_client.store.core import Core
from field_client.store.errors import StoreDamaged, StoreErased, StoreError, StoreTampered, WeakKdf, WrongPassphrase
from field_client.store.manifest import scan
from field_client.store.sealing import Keys, weak_kdf_allowed

FORMAT = 2  # 2: opaque row tags, padded sealed bodies, sealed manifest, keyless envelope checksum
DEFAULT_KDF_N = crypto.OWASP_N


class Resealable(Protocol):
    """A part that holds rows: re-keying asks it to re-seal them all under the new keys."""

    def reseal(self, old: Keys, new: Keys) -> None: ...


def envelope_row(envelope: crypto.Envelope) -> tuple[bytes, bytes, bytes, bytes]:
    checksum = crypto.checksum(envelope.header, envelope.wrapped_key, envelope.key_check)
    return envelope.header, envelope.wrapped_key, envelope.key_check, checksum


def read_envelope(conn: sqlite3.Connection) -> crypto.Envelope:
    try:
        row = conn.execute("SELECT header, wrapped_key, key_check, checksum, erased FROM meta WHERE id = 1").fetchone()
    except sqlite3.OperationalError as exc:
        if "no such column" in str(exc):
            raise StoreError("this store was made by an older client (format 1) and cannot be opened by this one:"
                             " sync it with the older client first, then enrol again") from None
        raise StoreDamaged(f"its key header cannot be read: {exc}") from None
    except sqlite3.DatabaseError as exc:
        raise StoreDamaged(f"its key header cannot be read: {exc}") from None
    if row is None or not all(isinstance(v, bytes) for v in row[:4]):
        raise StoreDamaged("its key header is missing or malformed")
    if row[4]:
        raise StoreErased("this store has been erased")
    envelope = crypto.Envelope(header=row[0], wrapped_key=row[1], key_check=row[2])
    # A keyless checksum: a changed byte here is damage, never "wrong passphrase". (Whoever recomputes it
    # after an edit gains nothing: the header is still bound to the wrapping and the KDF to the passphrase.)
    if not crypto.same_bytes(envelope_row(envelope)[3], row[3]):
        raise StoreDamaged("its key header does not match its checksum")
    return envelope


def unlock(conn: sqlite3.Connection, passphrase: str) -> tuple[bytes, crypto.KdfParams, dict[str, Any]]:
    envelope = read_envelope(conn)
    try:
        params, extra = crypto.parse_header(envelope.header)
        key = crypto.open_envelope(envelope, passphrase)
    except crypto.HeaderError as exc:
        raise StoreTampered(f"store key header rejected: {exc}") from None
    except crypto.PassphraseRejected:
        raise WrongPassphrase("wrong passphrase: the store could not be unlocked") from None
    except crypto.AuthError as exc:
        raise StoreTampered(f"store key material failed its integrity check: {exc}") from None
    if extra.get("format") != FORMAT:
        raise StoreError(f"store format {extra.get('format')!r} is not supported by this client")
    return key, params, extra


def choose_params(requested: int | None, current: crypto.KdfParams | None = None) -> crypto.KdfParams:
    """The KDF cost for a new envelope. Asked for: used as given, but below OWASP's minimum only in tests.
    Not asked for: calibrated on this machine, never cheaper than `current`; a test store keeps its cost."""
    if requested is not None:
        if requested < crypto.OWASP_N and not weak_kdf_allowed():
            raise WeakKdf(f"a key-derivation cost of n={requested} is below the minimum n={crypto.OWASP_N}"
                          " and is refused outside tests")
        return crypto.KdfParams.fresh(requested)
    if current is not None and not current.meets_minimum() and weak_kdf_allowed():
        return crypto.KdfParams.fresh(current.n, current.r, current.p)
    return crypto.calibrate(floor=current)


def write_envelope(conn: sqlite3.Connection, envelope: crypto.Envelope) -> None:
    conn.execute("UPDATE meta SET header = ?, wrapped_key = ?, key_check = ?, checksum = ? WHERE id = 1",
                 envelope_row(envelope))


class Passphrase:
    """Passphrase change (with data-key rotation) and the KDF cost of an open store."""

    def __init__(self, core: Core, holders: Sequence[Resealable]) -> None:
        self._core, self._holders = core, tuple(holders)

    def change(self, old: str, new: str, *, kdf_n: int | None = None) -> None:
        """Re-key the store under `new`: fresh data key, fresh salt, cost recalibrated (never lowered) or `kdf_n`."""
        core = self._core
        conn = core.no_transaction("change the passphrase")
        passphrase_policy.check(new)
        key, params, extra = unlock(conn, old)
        if core.data_key is None or not crypto.same_bytes(key, core.data_key):
            raise StoreTampered("the stored key no longer matches this open store")
        fresh = Keys(crypto.new_data_key())
        envelope = crypto.seal_envelope(fresh.data_key, new, choose_params(kdf_n, params), extra)
        old_keys = core.keys()
        try:
            with core.transaction():
                for holder in self._holders:
                    holder.reseal(old_keys, fresh)
                core.use_keys(fresh)
                core.tally = scan(conn, fresh.mac_key, core.tally.next_seq)
                write_envelope(conn, envelope)
        except BaseException:
            core.use_keys(old_keys)
            raise
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the old key's ciphertext leaves the WAL too

    def strengthen(self, passphrase: str, params: crypto.KdfParams) -> None:
        """Re-wrap the same data key at a higher cost (a store made by an older client or with a test cost)."""
        conn = self._core.db()
        _, _, extra = unlock(conn, passphrase)
        with self._core.transaction():
            write_envelope(conn, crypto.seal_envelope(self._core.keys().data_key, passphrase, params, extra))
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def kdf_params(self) -> crypto.KdfParams:
        return crypto.parse_header(read_envelope(self._core.db()).header)[0]

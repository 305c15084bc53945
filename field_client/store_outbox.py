"""The device store's outbox: ops queued for the server, in order, until it acknowledges them.

Each op is sealed with associated data naming its seq, op id, case and kind, so rows cannot be
reordered or swapped. Only `attempts` and `last_error` are kept in clear.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from field_client.store_core import StoreCore, StoreError, _ad, _canonical, _dumps, _need_text

_OUTBOX_COLS = "seq, op_id, case_id, kind, blob, attempts, last_error"
_MAX_ERROR_LEN = 500


@dataclass(frozen=True)
class OutboxItem:
    seq: int
    op_id: str
    case_id: str | None
    kind: str
    op: dict[str, Any]
    attempts: int
    last_error: str | None
    created_at: str = ""  # UTC ISO time of enqueue; kept inside the ciphertext


class OutboxMixin(StoreCore):
    """The outbox methods of `Store`."""

    def enqueue(self, op_id: str, case_id: str | None, kind: str, op: dict[str, Any]) -> None:
        """Queue an op durably. The same op_id again: no-op if identical, StoreError if different."""
        _need_text(op_id=op_id, kind=kind)
        if case_id is not None:
            _need_text(case_id=case_id)
        if not isinstance(op, dict):
            raise TypeError("an op must be a dict")
        body = _dumps({"op": op, "created_at": datetime.now(timezone.utc).isoformat()})
        with self.transaction():
            conn = self._db()
            row = conn.execute(f"SELECT {_OUTBOX_COLS} FROM outbox WHERE op_id = ?", (op_id,)).fetchone()
            if row is not None:
                old = self._item(row)
                if (old.case_id, old.kind, _canonical(old.op)) != (case_id, kind, _canonical(op)):
                    raise StoreError(f"op {op_id} is already queued with different content")
                return
            # seq is bound into the AD so rows cannot be reordered; it is known only after the insert.
            seq = conn.execute("INSERT INTO outbox (op_id, case_id, kind, blob) VALUES (?, ?, ?, x'')",
                               (op_id, case_id, kind)).lastrowid
            blob = self._seal(body, _ad("outbox", seq, op_id, case_id, kind))
            conn.execute("UPDATE outbox SET blob = ? WHERE seq = ?", (blob, seq))

    def _item(self, row: tuple[Any, ...]) -> OutboxItem:
        seq, op_id, case_id, kind, blob, attempts, last_error = row
        body = self._open_json(blob, _ad("outbox", seq, op_id, case_id, kind), f"outbox op {op_id} (seq {seq})")
        return OutboxItem(seq=seq, op_id=op_id, case_id=case_id, kind=kind, op=body["op"], attempts=attempts,
                          last_error=last_error, created_at=body["created_at"])

    def pending(self, limit: int | None = None) -> list[OutboxItem]:
        sql, args = f"SELECT {_OUTBOX_COLS} FROM outbox ORDER BY seq", ()
        if limit is not None:
            sql, args = sql + " LIMIT ?", (max(0, int(limit)),)
        return [self._item(row) for row in self._db().execute(sql, args).fetchall()]

    def pending_for_case(self, case_id: str) -> list[OutboxItem]:
        rows = self._db().execute(f"SELECT {_OUTBOX_COLS} FROM outbox WHERE case_id = ? ORDER BY seq",
                                  (case_id,)).fetchall()
        return [self._item(row) for row in rows]

    def acknowledge(self, op_ids: Iterable[str]) -> None:
        if isinstance(op_ids, str):
            raise TypeError("acknowledge takes an iterable of op ids, not one string")
        with self.transaction():
            self._db().executemany("DELETE FROM outbox WHERE op_id = ?", [(op_id,) for op_id in op_ids])

    def record_attempt(self, op_id: str, error: str | None) -> None:
        """Count a failed or retried push. `error` must be a code or non-personal text: it is stored in clear."""
        error = None if error is None else str(error)[:_MAX_ERROR_LEN]
        with self.transaction():
            self._db().execute("UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE op_id = ?",
                               (error, op_id))

"""The device store's outbox (`store.outbox`): ops queued for the server, in order, until it acknowledges them.

A row shows only its seq and two opaque tags (of the op id, for de-duplication, and of the case id, to find a
case's ops); op id, case, kind, op, attempts and last error are all inside the sealed body. The seq comes from
the sealed manifest's outbox head, and the associated data binds seq and both tags, so rows cannot be
reordered or swapped, and a deleted row is missed at open.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from field_client.store.core import Core
from field_client.store.errors import StoreError, StoreTampered
from field_client.store.sealing import Keys, ad, canonical, need_text

_COLS = "seq, op_tag, case_tag, blob"
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


class Outbox:
    """Ops waiting for the server, oldest first: `add`, `pending`, `for_case`, `acknowledge`, `record_attempt`."""

    def __init__(self, core: Core) -> None:
        self._core = core

    def add(self, op_id: str, case_id: str | None, kind: str, op: dict[str, Any]) -> None:
        """Queue an op durably. The same op_id again: no-op if identical, StoreError if different."""
        need_text(op_id=op_id, kind=kind)
        if case_id is not None:
            need_text(case_id=case_id)
        if not isinstance(op, dict):
            raise TypeError("an op must be a dict")
        canonical(op)  # refuse what cannot be stored before anything is written
        with self._core.transaction():
            old = self._find(op_id)
            if old is not None:
                if (old.case_id, old.kind, canonical(old.op)) != (case_id, kind, canonical(op)):
                    raise StoreError(f"op {op_id} is already queued with different content")
                return
            seq = self._core.tally.next_seq
            self._core.tally.next_seq += 1
            self._write_item(OutboxItem(seq, op_id, case_id, kind, op, 0, None,
                                        datetime.now(timezone.utc).isoformat()))

    def _write_item(self, item: OutboxItem, keys: Keys | None = None) -> tuple[Any, ...]:
        keys = keys or self._core.keys()
        op_tag, case_tag = keys.tag("op", item.op_id), keys.tag("case", item.case_id)
        body = {"op_id": item.op_id, "case_id": item.case_id, "kind": item.kind, "op": item.op,
                "created_at": item.created_at, "attempts": item.attempts, "last_error": item.last_error}
        blob = self._core.seal_json(body, ad("outbox", item.seq, op_tag, case_tag), keys)
        if keys is self._core.keys():  # re-keying (other keys) only builds rows; the caller writes them and recounts
            self._core.insert("outbox", (item.seq, op_tag, case_tag), blob)
        return item.seq, op_tag, case_tag, blob

    def _item(self, row: tuple[Any, ...], keys: Keys | None = None) -> OutboxItem:
        seq, op_tag, case_tag, blob = row
        body = self._core.open_json(blob, ad("outbox", seq, op_tag, case_tag), f"outbox op at seq {seq}", keys)
        try:
            return OutboxItem(seq=seq, op_id=body["op_id"], case_id=body["case_id"], kind=body["kind"],
                              op=body["op"], attempts=body["attempts"], last_error=body["last_error"],
                              created_at=body["created_at"])
        except (KeyError, TypeError):
            raise StoreTampered(f"outbox op at seq {seq} is malformed") from None

    def _find(self, op_id: str) -> OutboxItem | None:
        row = self._core.db().execute(f"SELECT {_COLS} FROM outbox WHERE op_tag = ?",
                                 (self._core.keys().tag("op", op_id),)).fetchone()
        return None if row is None else self._item(row)

    def pending(self, limit: int | None = None) -> list[OutboxItem]:
        sql, args = f"SELECT {_COLS} FROM outbox ORDER BY seq", ()
        if limit is not None:
            sql, args = sql + " LIMIT ?", (max(0, int(limit)),)
        return [self._item(row) for row in self._core.db().execute(sql, args).fetchall()]

    def for_case(self, case_id: str) -> list[OutboxItem]:
        rows = self._core.db().execute(f"SELECT {_COLS} FROM outbox WHERE case_tag = ? ORDER BY seq",
                                  (self._core.keys().tag("case", case_id),)).fetchall()
        return [self._item(row) for row in rows]

    def acknowledge(self, op_ids: Iterable[str]) -> None:
        if isinstance(op_ids, str):
            raise TypeError("acknowledge takes an iterable of op ids, not one string")
        with self._core.transaction():
            for op_id in op_ids:
                self._core.remove("outbox", "op_tag = ?", (self._core.keys().tag("op", op_id),))

    def record_attempt(self, op_id: str, error: str | None) -> None:
        """Count a failed or retried push; the error text is sealed with the op."""
        error = None if error is None else str(error)[:_MAX_ERROR_LEN]
        with self._core.transaction():
            item = self._find(op_id)
            if item is None:
                return
            self._core.remove("outbox", "seq = ?", (item.seq,))
            self._write_item(OutboxItem(item.seq, item.op_id, item.case_id, item.kind, item.op,
                                        item.attempts + 1, error, item.created_at))

    def reseal(self, old: Keys, new: Keys) -> None:
        conn = self._core.db()
        rows = [self._write_item(self._item(row, old), new)
                for row in conn.execute(f"SELECT {_COLS} FROM outbox").fetchall()]
        conn.execute("DELETE FROM outbox")
        conn.executemany(f"INSERT INTO outbox ({_COLS}) VALUES (?, ?, ?, ?)", rows)

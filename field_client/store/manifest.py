"""The store's sealed manifest: what the store holds, vouched for under the data key.

For each table the manifest keeps a row count and the sum (mod 2^256) of a keyed MAC over each row's columns
and ciphertext, plus the outbox head (the next seq to hand out). Adding or removing a row adjusts the sum, so
every write costs one MAC, yet at open a scan recomputes it: a deleted outbox row, a row copied back from an
older copy of the file, or any edited column changes the count or the sum. The MAC is keyed, so without the
data key nobody can make rows whose sum matches (a keyless sum of hashes could be forged).

Not detected: the whole file (manifest and rows together) put back to an older copy. The server's holdings
digest and its acknowledgements of the outbox are the check on that.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from field_client import crypto

MOD = 2**256
TABLES = ("records", "outbox", "kv", "photos")
KEY_COLUMNS: dict[str, tuple[str, ...]] = {
    "records": ("tag", "table_tag"),
    "outbox": ("seq", "op_tag", "case_tag"),
    "kv": ("tag",),
    "photos": ("photo_tag", "chunk_index"),
}


def row_mac(mac_key: bytes, table: str, keys: tuple[Any, ...], blob: Any) -> int:
    if not isinstance(blob, bytes):
        blob = repr(blob).encode()  # a non-blob value is damage; it must still count, differently
    head = json.dumps([table, *keys], separators=(",", ":")).encode("utf-8")
    return int.from_bytes(crypto.mac(mac_key, len(head).to_bytes(4, "big") + head + blob), "big")


@dataclass
class Tally:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TABLES, 0))
    sums: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TABLES, 0))
    next_seq: int = 1

    def copy(self) -> Tally:
        return Tally(dict(self.counts), dict(self.sums), self.next_seq)

    def add(self, table: str, value: int) -> None:
        self.counts[table] += 1
        self.sums[table] = (self.sums[table] + value) % MOD

    def remove(self, table: str, value: int) -> None:
        self.counts[table] -= 1
        self.sums[table] = (self.sums[table] - value) % MOD

    def to_doc(self) -> dict[str, Any]:
        return {"next_seq": self.next_seq,
                "tables": {t: [self.counts[t], format(self.sums[t], "064x")] for t in TABLES}}

    @classmethod
    def from_doc(cls, doc: Any) -> Tally:
        try:
            tables = doc["tables"]
            tally = cls({t: int(tables[t][0]) for t in TABLES}, {t: int(tables[t][1], 16) for t in TABLES},
                        int(doc["next_seq"]))
        except (KeyError, TypeError, ValueError, IndexError):
            raise ValueError("the manifest is malformed") from None
        return tally


def scan(conn: sqlite3.Connection, mac_key: bytes, next_seq: int) -> Tally:
    """The tally the tables on disk add up to (with the manifest's own outbox head)."""
    tally = Tally(next_seq=next_seq)
    for table in TABLES:
        cols = ", ".join(KEY_COLUMNS[table] + ("blob",))
        for row in conn.execute(f"SELECT {cols} FROM {table}"):
            tally.add(table, row_mac(mac_key, table, tuple(row[:-1]), row[-1]))
    return tally


def differences(sealed: Tally, found: Tally, top_seq: int | None) -> list[str]:
    """What disagrees between the sealed manifest and the tables, in words; empty when they match."""
    problems = []
    for table in TABLES:
        have, want = found.counts[table], sealed.counts[table]
        if have != want:
            problems.append(f"{table} holds {have} row(s) where the manifest vouches for {want}")
        elif found.sums[table] != sealed.sums[table]:
            problems.append(f"a {table} row is not the one last written (altered or put back from an older copy)")
    if top_seq is not None and top_seq >= sealed.next_seq:
        problems.append("the outbox holds an op beyond its sealed head")
    return problems

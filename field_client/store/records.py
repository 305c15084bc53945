"""Records (case snapshots, visits) and sync state in the device store: the `store.records` and `store.state` parts.

A record row holds an opaque tag of (table, id), an opaque tag of its table (to list one table), and the sealed
body {table, id, version, data}; a state row holds a tag of its key and the sealed {key, value}. The associated
data binds the tags, and the body names what it is, so a value moved to another row is refused.
"""

from __future__ import annotations

import hashlib
from typing import Any

from field_client.store.core import Core
from field_client.store.errors import StoreTampered
from field_client.store.sealing import Keys, ad, need_text


class Records:
    """Versioned records by table and id: `put`, `get`, `version_of`, `list`, `delete`."""

    def __init__(self, core: Core) -> None:
        self._core = core

    def put(self, table: str, record_id: str, version: int, data: dict[str, Any]) -> None:
        need_text(table=table, record_id=record_id)
        if not isinstance(version, int) or isinstance(version, bool):
            raise ValueError("version must be an integer")
        if not isinstance(data, dict):
            raise TypeError("a record must be a dict")
        keys = self._core.keys()
        tag = keys.tag("record", table, record_id)
        blob = self._blob(keys, tag, table, record_id, version, data)
        with self._core.transaction():
            self._core.remove("records", "tag = ?", (tag,))
            self._core.insert("records", (tag, keys.tag("table", table)), blob)

    def _blob(self, keys: Keys, tag: str, table: str, record_id: str, version: int, data: dict[str, Any]) -> bytes:
        body = {"t": table, "id": record_id, "v": version, "d": data}
        return self._core.seal_json(body, ad("record", tag, keys.tag("table", table)), keys)

    def _body(self, tag: str, table_tag: str, blob: Any, keys: Keys | None = None) -> dict[str, Any]:
        body = self._core.open_json(blob, ad("record", tag, table_tag), "a record", keys)
        if not isinstance(body, dict) or not {"t", "id", "v", "d"} <= body.keys():
            raise StoreTampered("a record is malformed")
        return body

    def _row(self, table: str, record_id: str) -> dict[str, Any] | None:
        keys = self._core.keys()
        tag = keys.tag("record", table, record_id)
        row = self._core.db().execute("SELECT table_tag, blob FROM records WHERE tag = ?", (tag,)).fetchone()
        if row is None:
            return None
        body = self._body(tag, row[0], row[1])
        if (body["t"], body["id"]) != (table, record_id) or row[0] != keys.tag("table", table):
            raise StoreTampered(f"record {table}/{record_id} holds another record: the store was altered")
        return body

    def get(self, table: str, record_id: str) -> dict[str, Any] | None:
        body = self._row(table, record_id)
        return None if body is None else body["d"]

    def version_of(self, table: str, record_id: str) -> int | None:
        body = self._row(table, record_id)
        return None if body is None else body["v"]

    def _bodies(self, table: str) -> list[dict[str, Any]]:
        table_tag = self._core.keys().tag("table", table)
        rows = self._core.db().execute("SELECT tag, blob FROM records WHERE table_tag = ?", (table_tag,)).fetchall()
        bodies = [self._body(tag, table_tag, blob) for tag, blob in rows]
        if any(body["t"] != table for body in bodies):
            raise StoreTampered(f"a record of another table is filed under {table}: the store was altered")
        return sorted(bodies, key=lambda body: body["id"])

    def list(self, table: str) -> list[tuple[str, int, dict[str, Any]]]:
        return [(body["id"], body["v"], body["d"]) for body in self._bodies(table)]

    def ids_and_versions(self, table: str) -> list[tuple[str, int]]:
        """For the consistency digest over the whole scope (decrypts the table: a few hundred small rows)."""
        return [(body["id"], body["v"]) for body in self._bodies(table)]

    def sealed_fingerprint(self, table: str) -> str:
        """A hash of the table's sealed rows, without decrypting them: any put or delete changes it (every seal
        takes a fresh nonce), so an unchanged fingerprint means unchanged records (see `engine._check`)."""
        rows = self._core.db().execute("SELECT tag, blob FROM records WHERE table_tag = ? ORDER BY tag",
                                       (self._core.keys().tag("table", table),)).fetchall()
        h = hashlib.sha256()
        for tag, blob in rows:
            h.update(f"{tag}:{len(blob)}:".encode())
            h.update(bytes(blob))
        return h.hexdigest()

    def tables(self) -> list[str]:
        rows = self._core.db().execute("SELECT tag, table_tag, blob FROM records").fetchall()
        return sorted({self._body(tag, table_tag, blob)["t"] for tag, table_tag, blob in rows})

    def delete(self, table: str, record_id: str) -> None:
        with self._core.transaction():
            self._core.remove("records", "tag = ?", (self._core.keys().tag("record", table, record_id),))

    def reseal(self, old: Keys, new: Keys) -> None:
        conn = self._core.db()
        bodies = [self._body(tag, table_tag, blob, old)
                  for tag, table_tag, blob in conn.execute("SELECT tag, table_tag, blob FROM records").fetchall()]
        rows = []
        for b in bodies:
            tag = new.tag("record", b["t"], b["id"])
            rows.append((tag, new.tag("table", b["t"]), self._blob(new, tag, b["t"], b["id"], b["v"], b["d"])))
        conn.execute("DELETE FROM records")
        conn.executemany("INSERT INTO records (tag, table_tag, blob) VALUES (?, ?, ?)", rows)


class State:
    """Sync state by key (cursor, device token, uploads, ...; names in `field_client.state`): `get`, `set`."""

    def __init__(self, core: Core) -> None:
        self._core = core

    def set(self, key: str, value: Any) -> None:
        need_text(key=key)
        tag = self._core.keys().tag("kv", key)
        blob = self._core.seal_json({"k": key, "v": value}, ad("kv", tag))
        with self._core.transaction():
            self._core.remove("kv", "tag = ?", (tag,))
            self._core.insert("kv", (tag,), blob)

    def _body(self, tag: str, blob: Any, keys: Keys | None = None) -> dict[str, Any]:
        body = self._core.open_json(blob, ad("kv", tag), "a state value", keys)
        if not isinstance(body, dict) or not {"k", "v"} <= body.keys():
            raise StoreTampered("a state value is malformed")
        return body

    def get(self, key: str, default: Any = None) -> Any:
        tag = self._core.keys().tag("kv", key)
        row = self._core.db().execute("SELECT blob FROM kv WHERE tag = ?", (tag,)).fetchone()
        if row is None:
            return default
        body = self._body(tag, row[0])
        if body["k"] != key:
            raise StoreTampered(f"state {key!r} holds another value: the store was altered")
        return body["v"]

    def keys(self) -> list[str]:
        return sorted(self._body(tag, blob)["k"] for tag, blob in self._core.db().execute("SELECT tag, blob FROM kv"))

    def reseal(self, old: Keys, new: Keys) -> None:
        conn = self._core.db()
        bodies = [self._body(tag, blob, old) for tag, blob in conn.execute("SELECT tag, blob FROM kv").fetchall()]
        conn.execute("DELETE FROM kv")
        conn.executemany("INSERT INTO kv (tag, blob) VALUES (?, ?)",
                         [(new.tag("kv", b["k"]), self._core.seal_json(b, ad("kv", new.tag("kv", b["k"])), new))
                          for b in bodies])

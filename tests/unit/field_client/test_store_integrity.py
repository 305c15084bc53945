"""Damage to the device store is found when it is opened, with one clear error (issue 7 item 9).

Was: a flipped byte in an SQLite interior page went unnoticed until `visit` failed with "database disk image is
malformed"; damage to the key header read as "wrong passphrase"; damage to an index as "offline too long"; and a
deleted outbox row or a record put back to an older version went unnoticed altogether.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from field_client.store import DB_NAME, Store, StoreDamaged, WrongPassphrase
from tests.unit.field_client.test_field_cli import (  # noqa: F401  (fixtures)
    PASS, assert_one_line_error, enrolled, home, run, server,
)

CHEAP_N = 2**10
# B-tree page types (first byte of a page's header): interior index / table, leaf index / table.
INTERIOR_INDEX, INTERIOR_TABLE, LEAF_INDEX = 0x02, 0x05, 0x0A


def _file(directory: Path) -> Path:
    return directory / DB_NAME


def _page_size(path: Path) -> int:
    size = int.from_bytes(path.read_bytes()[16:18], "big")
    return 65536 if size == 1 else size


def _root(path: Path, name: str) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT rootpage FROM sqlite_schema WHERE name = ?", (name,)).fetchone()[0]


def _flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x5A
    path.write_bytes(bytes(data))


def _closed_store(directory: Path, records: int = 0, ops: int = 0) -> None:
    with Store.create(directory, PASS, kdf_n=CHEAP_N) as store:
        with store.transaction():
            for n in range(records):
                store.records.put("cases", str(n), 1, {"name": f"child {n}", "notes": "x" * 600})
            for n in range(ops):
                store.outbox.add(f"op-{n}", str(n % 7), "record_visit", {"n": n})
            store.state.set("last_contact", "2026-01-01T00:00:00+00:00")
    assert not Path(str(_file(directory)) + "-wal").exists()  # all in the main file, as on a device at rest


def _assert_damaged(directory: Path) -> None:
    with pytest.raises(StoreDamaged, match="the store is damaged") as info:
        Store.open(directory, PASS)
    assert not isinstance(info.value, WrongPassphrase)


def test_flipped_byte_in_an_interior_btree_page_is_found_at_open(tmp_path: Path) -> None:
    _closed_store(tmp_path, records=300)
    path = _file(tmp_path)
    root = _root(path, "records")  # a WITHOUT ROWID table: its interior pages are index-type pages
    offset = (root - 1) * _page_size(path)
    assert path.read_bytes()[offset] == INTERIOR_INDEX
    _flip(path, offset + 8)  # the right-most child pointer now points at the wrong page
    _assert_damaged(tmp_path)


def test_flipped_byte_in_the_key_header_is_damage_not_a_wrong_passphrase(tmp_path: Path) -> None:
    _closed_store(tmp_path)
    path = _file(tmp_path)
    data = path.read_bytes()
    salt_at = data.index(b'"salt":"') + len(b'"salt":"') + 3
    data = bytearray(data)
    data[salt_at] = ord("0") if data[salt_at] != ord("0") else ord("1")  # still valid hex: another salt
    path.write_bytes(bytes(data))
    _assert_damaged(tmp_path)


def test_flipped_byte_in_the_schema_page_is_found_at_open(tmp_path: Path) -> None:
    _closed_store(tmp_path)
    path = _file(tmp_path)
    _flip(path, path.read_bytes().index(b"CREATE TABLE kv") + 7)
    _assert_damaged(tmp_path)


def test_flipped_byte_in_an_index_page_is_found_at_open_not_read_as_offline_too_long(tmp_path: Path) -> None:
    _closed_store(tmp_path, records=40, ops=40)
    path = _file(tmp_path)
    offset = (_root(path, "records_by_table") - 1) * _page_size(path)
    page = path.read_bytes()[offset:offset + _page_size(path)]
    assert page[0] == LEAF_INDEX
    content_start = int.from_bytes(page[5:7], "big")
    _flip(path, offset + content_start + 10)  # inside the first index entry's key
    _assert_damaged(tmp_path)


def test_deleted_pending_outbox_row_is_found_at_open(tmp_path: Path) -> None:
    _closed_store(tmp_path, ops=3)
    with sqlite3.connect(_file(tmp_path)) as conn:
        conn.execute("DELETE FROM outbox WHERE seq = 2")
    with pytest.raises(StoreDamaged, match="outbox holds 2 row"):
        Store.open(tmp_path, PASS)


def test_deleting_the_newest_outbox_row_is_found_at_open(tmp_path: Path) -> None:
    _closed_store(tmp_path, ops=3)
    with sqlite3.connect(_file(tmp_path)) as conn:
        conn.execute("DELETE FROM outbox WHERE seq = (SELECT MAX(seq) FROM outbox)")
    _assert_damaged(tmp_path)


def test_record_rolled_back_to_an_older_version_is_found_at_open(tmp_path: Path) -> None:
    with Store.create(tmp_path, PASS, kdf_n=CHEAP_N) as store:
        store.records.put("cases", "42", 1, {"status": "open"})
        with sqlite3.connect(_file(tmp_path)) as conn:
            old = conn.execute("SELECT tag, table_tag, blob FROM records").fetchone()
        store.records.put("cases", "42", 2, {"status": "closed"})
    with sqlite3.connect(_file(tmp_path)) as conn:  # copy the old encrypted row back
        conn.execute("UPDATE records SET table_tag = ?, blob = ? WHERE tag = ?", (old[1], old[2], old[0]))
    with pytest.raises(StoreDamaged, match="records row is not the one last written"):
        Store.open(tmp_path, PASS)


def test_a_whole_table_put_back_with_an_older_manifest_is_still_found(tmp_path: Path) -> None:
    # Restoring the manifest too is restoring the whole store, except where another table moved on.
    with Store.create(tmp_path, PASS, kdf_n=CHEAP_N) as store:
        store.outbox.add("op-1", "42", "record_visit", {})
        with sqlite3.connect(_file(tmp_path)) as conn:
            manifest = conn.execute("SELECT blob FROM manifest").fetchone()[0]
        store.outbox.acknowledge(["op-1"])
        store.state.set("cursor", "later")
    with sqlite3.connect(_file(tmp_path)) as conn:
        conn.execute("UPDATE manifest SET blob = ?", (manifest,))
    _assert_damaged(tmp_path)


def test_an_intact_store_still_tells_a_wrong_passphrase(tmp_path: Path) -> None:
    _closed_store(tmp_path, records=5, ops=5)
    with pytest.raises(WrongPassphrase):
        Store.open(tmp_path, "not the right passphrase")
    with Store.open(tmp_path, PASS) as store:
        assert len(store.outbox.pending()) == 5 and len(store.records.list("cases")) == 5


def test_cli_says_the_store_is_damaged_and_what_to_do(enrolled, home: Path) -> None:  # noqa: F811
    assert run("visit", "1", "--outcome", "no_answer", "--notes", "card left").exit_code == 0
    with sqlite3.connect(_file(home)) as conn:
        conn.execute("DELETE FROM outbox")
    result = run("cases")
    assert_one_line_error(result, 1, "the store is damaged")
    line = result.stderr.strip()
    assert "Do not erase it" in line and "supervisor" in line and "resynced or re-enrolled" in line
    assert "wrong passphrase" not in line.lower()

"""The encrypted device store: behaviour, durability boundaries, and refusal of tampered bytes."""

from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from field_client.store import (
    DB_NAME,
    PhotoNotFound,
    Store,
    StoreErased,
    StoreError,
    StoreExists,
    StoreHooks,
    StoreNotFound,
    StoreDamaged,
    StoreTampered,
    WrongPassphrase,
)
from field_client import crypto

PASS = "tidal marmalade lantern quiver"
CHEAP_N = 2**10
MIB = 1024 * 1024
CHILD = {"name": "Zebedee Quillfeather", "address": "14 Nowhere Crescent, Fictown",
         "phone": "07700 900417", "dob": "2014-03-02"}
CARER = {"name": "Morwenna Tillybrook", "address": "2 Imaginary Row, Fictown", "phone": "01632 960983"}
TOKEN = "dev-tok-Qx7pL2mZ9vR4sT1wY8uN"
SECRETS = [CHILD["name"], CHILD["address"], CHILD["phone"], CARER["name"], CARER["address"],
           CARER["phone"], "Quillfeather", "Nowhere Crescent", TOKEN]


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    return tmp_path / "device"


@pytest.fixture
def store(store_dir: Path) -> Iterator[Store]:
    with Store.create(store_dir, PASS, kdf_n=CHEAP_N) as opened:
        yield opened


def raw(store_dir: Path) -> sqlite3.Connection:
    """A plain SQLite connection to edit the file behind the store's back, as an attacker would."""
    return sqlite3.connect(store_dir / DB_NAME, isolation_level=None)


def raw_blob(store_dir: Path, sql: str, *args: object) -> bytes:
    with raw(store_dir) as conn:
        return conn.execute(sql, args).fetchone()[0]


def flip_byte(blob: bytes, at: int = -1) -> bytes:
    edited = bytearray(blob)
    edited[at] ^= 0x01
    return bytes(edited)


def disk_bytes(store_dir: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(store_dir.iterdir()) if p.name.startswith(DB_NAME))


# ---- records ------------------------------------------------------------------------------------

def test_records_round_trip_and_survive_reopen(store: Store, store_dir: Path) -> None:
    store.records.put("cases", "42", 3, CHILD)
    store.records.put("cases", "7", 1, CARER)
    store.records.put("carers", "c-1", 1, CARER)
    assert store.records.get("cases", "42") == CHILD
    assert store.records.get("cases", "missing") is None
    assert store.records.version_of("cases", "42") == 3
    assert store.records.version_of("cases", "missing") is None
    store.close()
    with Store.open(store_dir, PASS) as again:
        assert again.records.list("cases") == [("42", 3, CHILD), ("7", 1, CARER)]
        assert again.records.ids_and_versions("cases") == [("42", 3), ("7", 1)]
        assert again.records.ids_and_versions("carers") == [("c-1", 1)]


def test_put_replaces_and_delete_removes(store: Store) -> None:
    store.records.put("cases", "42", 1, {"v": 1})
    store.records.put("cases", "42", 2, {"v": 2})
    assert (store.records.version_of("cases", "42"), store.records.get("cases", "42")) == (2, {"v": 2})
    store.records.delete("cases", "42")
    store.records.delete("cases", "42")  # deleting what is gone is not an error
    assert store.records.get("cases", "42") is None and store.records.list("cases") == []


def test_bad_arguments_are_refused(store: Store) -> None:
    with pytest.raises(TypeError):
        store.records.put("cases", "1", 1, ["not", "a", "dict"])  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        store.records.put("cases", "", 1, {})
    with pytest.raises(ValueError):
        store.records.put("cases", "1", "2", {})  # type: ignore[arg-type]


# ---- outbox -------------------------------------------------------------------------------------

def test_outbox_keeps_enqueue_order_and_acknowledge_removes(store: Store, store_dir: Path) -> None:
    for n, case in [(3, "42"), (1, "7"), (2, "42")]:
        store.outbox.add(f"op-{n}", case, "record_visit", {"n": n})
    store.outbox.add("op-0", None, "attach_photo", {"n": 0})
    assert [i.op_id for i in store.outbox.pending()] == ["op-3", "op-1", "op-2", "op-0"]
    assert [i.op_id for i in store.outbox.pending(limit=2)] == ["op-3", "op-1"]
    assert [i.op for i in store.outbox.for_case("42")] == [{"n": 3}, {"n": 2}]
    store.outbox.acknowledge(["op-3", "op-2", "never-queued"])
    store.close()
    with Store.open(store_dir, PASS) as again:
        items = again.outbox.pending()
        assert [(i.op_id, i.case_id, i.kind) for i in items] == [("op-1", "7", "record_visit"),
                                                                 ("op-0", None, "attach_photo")]
        assert items[0].created_at.endswith("+00:00")


def test_enqueue_same_op_twice_is_a_no_op(store: Store) -> None:
    store.outbox.add("op-1", "42", "record_visit", {"a": 1, "b": [1, 2]})
    store.outbox.add("op-1", "42", "record_visit", {"b": [1, 2], "a": 1})
    assert len(store.outbox.pending()) == 1


@pytest.mark.parametrize("case_id, kind, op", [("42", "record_visit", {"a": 2}),
                                               ("43", "record_visit", {"a": 1}),
                                               ("42", "address_check", {"a": 1}),
                                               ("42", "record_visit", {"a": True})])
def test_enqueue_same_op_id_with_other_content_is_a_clash(store: Store, case_id: str, kind: str, op: dict) -> None:
    store.outbox.add("op-1", "42", "record_visit", {"a": 1})
    with pytest.raises(StoreError, match="op-1 is already queued with different content"):
        store.outbox.add("op-1", case_id, kind, op)
    assert [i.op for i in store.outbox.pending()] == [{"a": 1}]


def test_record_attempt_counts_and_keeps_the_error(store: Store) -> None:
    store.outbox.add("op-1", "42", "record_visit", {})
    store.outbox.record_attempt("op-1", "timeout")
    store.outbox.record_attempt("op-1", None)
    store.outbox.record_attempt("op-1", "http-503")
    item = store.outbox.pending()[0]
    assert (item.attempts, item.last_error) == (3, "http-503")


def test_acknowledge_refuses_a_bare_string(store: Store) -> None:
    store.outbox.add("op-1", "42", "record_visit", {})
    with pytest.raises(TypeError):
        store.outbox.acknowledge("op-1")
    assert len(store.outbox.pending()) == 1


# ---- transactions -------------------------------------------------------------------------------

def test_transaction_rolls_back_everything_on_exception(store: Store, store_dir: Path) -> None:
    store.records.put("cases", "1", 1, {"before": True})
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.records.put("cases", "2", 1, CHILD)
            store.records.delete("cases", "1")
            store.state.set("cursor", "page-9")
            store.outbox.add("op-1", "2", "record_visit", {})
            store.photos.put("ph-1", b"x" * 5000)
            raise RuntimeError("crash mid-page")
    store.close()
    with Store.open(store_dir, PASS) as again:
        assert again.records.ids_and_versions("cases") == [("1", 1)]
        assert again.state.get("cursor") is None
        assert again.outbox.pending() == []
        with pytest.raises(PhotoNotFound):
            again.photos.size("ph-1")


def test_transaction_commits_page_and_cursor_together(store: Store, store_dir: Path) -> None:
    with store.transaction():
        store.records.put("cases", "1", 1, {"a": 1})
        store.records.put("cases", "2", 1, {"a": 2})
        store.state.set("cursor", 17)
    store.close()
    with Store.open(store_dir, PASS) as again:
        assert again.records.ids_and_versions("cases") == [("1", 1), ("2", 1)]
        assert again.state.get("cursor") == 17


def test_nested_failure_rolls_back_only_the_inner_block(store: Store) -> None:
    with store.transaction():
        store.records.put("cases", "1", 1, {})
        with pytest.raises(ValueError):
            with store.transaction():
                store.records.put("cases", "2", 1, {})
                raise ValueError("inner")
        store.records.put("cases", "3", 1, {})
    assert store.records.ids_and_versions("cases") == [("1", 1), ("3", 1)]


def test_a_failing_write_inside_a_transaction_leaves_no_partial_row(store: Store) -> None:
    store.outbox.add("op-1", "42", "record_visit", {"a": 1})
    with store.transaction():
        with pytest.raises(StoreError):
            store.outbox.add("op-1", "42", "record_visit", {"a": 2})
        store.outbox.add("op-2", "42", "record_visit", {})
    assert [i.op_id for i in store.outbox.pending()] == ["op-1", "op-2"]


# ---- lifecycle and passphrase -------------------------------------------------------------------

def test_create_refuses_an_existing_store_and_open_a_missing_one(store: Store, store_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(StoreExists):
        Store.create(store_dir, "another long passphrase", kdf_n=CHEAP_N)
    assert Store.exists(store_dir) and not Store.exists(tmp_path / "nowhere")
    with pytest.raises(StoreNotFound):
        Store.open(tmp_path / "nowhere", PASS)
    assert not (tmp_path / "nowhere").exists()  # opening never creates a file


def test_store_file_is_private_and_in_wal_with_full_sync(store: Store, store_dir: Path) -> None:
    assert stat.S_IMODE(os.stat(store_dir / DB_NAME).st_mode) == 0o600
    conn = store.core.db()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_default_kdf_cost_is_calibrated_at_least_to_the_owasp_minimum(tmp_path: Path) -> None:
    # Was: scrypt N=2^15 (32 MiB), below OWASP's N=2^17, r=8, p=1 and never calibrated (issue 7 item 7).
    Store.create(tmp_path, PASS).close()
    header = json.loads(raw_blob(tmp_path, "SELECT header FROM meta"))
    assert (header["kdf"], header["r"]) == ("scrypt", 8)
    assert header["n"] >= 2**17 and header["p"] >= 1


def test_wrong_passphrase_is_refused_clearly(store: Store, store_dir: Path) -> None:
    store.close()
    with pytest.raises(WrongPassphrase, match="^wrong passphrase"):
        Store.open(store_dir, "correct horse battery stapler")


def test_closed_store_refuses_use(store: Store) -> None:
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.records.get("cases", "1")
    with pytest.raises(StoreError, match="closed"):
        store.records.put("cases", "1", 1, {})


def test_change_passphrase_rotates_the_data_key_and_reseals_everything(store: Store, store_dir: Path) -> None:
    # Was: only the key was re-wrapped, so the old envelope and the old passphrase still opened new data.
    store.records.put("cases", "42", 1, CHILD)
    store.photos.put("ph-1", b"photo" * 1000)
    store.outbox.add("op-1", "42", "record_visit", {"a": 1})
    store.state.set("cursor", "c-1")
    old_meta = raw(store_dir).execute("SELECT header, wrapped_key, key_check, checksum FROM meta").fetchone()
    before = {t: raw_blob(store_dir, f"SELECT blob FROM {t}") for t in ("records", "photos", "outbox", "kv")}
    with pytest.raises(WrongPassphrase):
        store.passphrase.change("not it at all", "a new long secret")
    store.passphrase.change(PASS, "a new long secret")
    store.records.put("cases", "43", 1, CARER)  # written after the change
    store.close()
    after = {t: raw_blob(store_dir, f"SELECT blob FROM {t}") for t in ("records", "photos", "outbox", "kv")}
    assert all(after[t] != before[t] for t in before)
    with pytest.raises(WrongPassphrase):
        Store.open(store_dir, PASS)
    with Store.open(store_dir, "a new long secret") as again:
        assert again.records.get("cases", "42") == CHILD and again.records.get("cases", "43") == CARER
        assert again.photos.read("ph-1") == b"photo" * 1000
        assert [(i.op_id, i.op) for i in again.outbox.pending()] == [("op-1", {"a": 1})]
        assert again.state.get("cursor") == "c-1"
    with raw(store_dir) as conn:  # put the old key header back: with the old passphrase it opens nothing
        conn.execute("UPDATE meta SET header = ?, wrapped_key = ?, key_check = ?, checksum = ?", old_meta)
    with pytest.raises(StoreDamaged):
        Store.open(store_dir, PASS)


def test_erase_removes_the_files_and_the_store_cannot_be_opened(store: Store, store_dir: Path) -> None:
    store.records.put("cases", "42", 1, CHILD)
    store.state.set("device_token", TOKEN)
    store.erase()
    assert not any(p.name.startswith(DB_NAME) for p in store_dir.iterdir())
    assert not Store.exists(store_dir)
    with pytest.raises((StoreNotFound, StoreErased)):
        Store.open(store_dir, PASS)
    with pytest.raises(StoreError):
        store.records.get("cases", "42")


def test_erase_interrupted_before_unlink_still_leaves_the_store_unopenable(store_dir: Path) -> None:
    crash_before_unlink = StoreHooks(remove_files=lambda path: None)
    store = Store.create(store_dir, PASS, kdf_n=CHEAP_N, hooks=crash_before_unlink)
    store.erase()
    with pytest.raises(StoreErased):
        Store.open(store_dir, PASS)


# ---- tampering ----------------------------------------------------------------------------------
# Edits made while the store is closed are found at open (StoreDamaged, from the sealed manifest); the same
# edits made behind an open store's back are refused when the value is read (StoreTampered, from the AEAD).

def tag(store: Store, *parts: str | None) -> str:
    return store.core.keys().tag(*parts)


def test_flipped_byte_in_a_record_is_refused(store: Store, store_dir: Path) -> None:
    store.records.put("cases", "42", 1, CHILD)
    with raw(store_dir) as conn:
        blob = conn.execute("SELECT blob FROM records").fetchone()[0]
        conn.execute("UPDATE records SET blob = ?", (flip_byte(blob, len(blob) // 2),))
    with pytest.raises(StoreTampered, match="failed its integrity check"):
        store.records.get("cases", "42")
    with pytest.raises(StoreTampered):
        store.records.list("cases")
    store.close()
    with pytest.raises(StoreDamaged, match="records row is not the one last written"):
        Store.open(store_dir, PASS)


@pytest.mark.parametrize("sql", [
    "UPDATE records SET blob = (SELECT blob FROM records WHERE tag = :seven) WHERE tag = :forty_two",
    "UPDATE records SET table_tag = :carers WHERE tag = :forty_two",
    "UPDATE records SET tag = :forty_two_carers, table_tag = :carers WHERE tag = :forty_two",
    "UPDATE records SET blob = CAST('plain' AS TEXT) WHERE tag = :forty_two",
])
def test_swapped_or_moved_record_is_refused(store: Store, store_dir: Path, sql: str) -> None:
    store.records.put("cases", "42", 1, CHILD)
    store.records.put("cases", "7", 1, CARER)
    names = {"seven": tag(store, "record", "cases", "7"), "forty_two": tag(store, "record", "cases", "42"),
             "carers": tag(store, "table", "carers"), "forty_two_carers": tag(store, "record", "carers", "42")}
    with raw(store_dir) as conn:
        conn.execute(sql, names)
    table = "carers" if "forty_two_carers" in sql else "cases"
    with pytest.raises(StoreTampered):
        store.records.get(table, "42")
    store.close()
    with pytest.raises(StoreDamaged):
        Store.open(store_dir, PASS)


def _recompute_checksum(conn: sqlite3.Connection) -> None:
    row = conn.execute("SELECT header, wrapped_key, key_check FROM meta").fetchone()
    conn.execute("UPDATE meta SET checksum = ?", (crypto.checksum(*row),))


@pytest.mark.parametrize("column", ["wrapped_key", "key_check", "header", "checksum"])
def test_corrupted_key_material_is_damage_not_a_wrong_passphrase(store: Store, store_dir: Path, column: str) -> None:
    store.close()
    with raw(store_dir) as conn:
        value = conn.execute(f"SELECT {column} FROM meta").fetchone()[0]
        conn.execute(f"UPDATE meta SET {column} = ?", (flip_byte(value, 5),))
    with pytest.raises(StoreDamaged, match="key header does not match its checksum"):
        Store.open(store_dir, PASS)


@pytest.mark.parametrize("column, match", [("wrapped_key", "wrapped data key or its header is damaged"),
                                           ("key_check", "key check value is damaged")])
def test_key_material_edited_with_its_checksum_gives_a_clear_error(store: Store, store_dir: Path, column: str,
                                                                   match: str) -> None:
    store.close()
    with raw(store_dir) as conn:
        value = conn.execute(f"SELECT {column} FROM meta").fetchone()[0]
        conn.execute(f"UPDATE meta SET {column} = ?", (flip_byte(value, 5),))
        _recompute_checksum(conn)
    with pytest.raises(StoreTampered, match=match):
        Store.open(store_dir, PASS)


@pytest.mark.parametrize("old, new, error", [
    (b'"n":1024', b'"n":512', StoreTampered),        # KDF downgrade below the floor: refused outright
    (b'"n":1024', b'"n":2048', WrongPassphrase),     # KDF inputs feed the key: looks like a wrong passphrase
    (b'"chunk_size":1048576', b'"chunk_size":2048', StoreTampered),  # other facts: bound as AD
    (b'"kdf":"scrypt"', b'"kdf":"none"', StoreTampered),
    (b'{', b'[', StoreTampered),
])
def test_edited_header_never_opens(store: Store, store_dir: Path, old: bytes, new: bytes, error: type) -> None:
    store.close()
    with raw(store_dir) as conn:  # an attacker who also fixes the keyless checksum
        header = conn.execute("SELECT header FROM meta").fetchone()[0]
        assert old in header
        conn.execute("UPDATE meta SET header = ?", (header.replace(old, new, 1),))
        _recompute_checksum(conn)
    with pytest.raises(error):
        Store.open(store_dir, PASS)


def test_a_file_that_is_not_a_store_is_refused(tmp_path: Path) -> None:
    (tmp_path / DB_NAME).write_bytes(b"this is not an SQLite database at all" * 100)
    with pytest.raises(StoreDamaged):
        Store.open(tmp_path, PASS)


@pytest.mark.parametrize("sql", [
    "UPDATE outbox SET case_tag = :other_case WHERE op_tag = :op1",
    "UPDATE outbox SET op_tag = :op9 WHERE op_tag = :op1",
    "UPDATE outbox SET seq = seq + 100 WHERE op_tag = :op1",  # reordered behind op-2
    "UPDATE outbox SET blob = (SELECT blob FROM outbox WHERE op_tag = :op2) WHERE op_tag = :op1",
])
def test_edited_outbox_row_is_refused(store: Store, store_dir: Path, sql: str) -> None:
    store.outbox.add("op-1", "42", "record_visit", {"a": 1})
    store.outbox.add("op-2", "42", "record_visit", {"a": 2})
    names = {"other_case": tag(store, "case", "99"), "op1": tag(store, "op", "op-1"),
             "op2": tag(store, "op", "op-2"), "op9": tag(store, "op", "op-9")}
    with raw(store_dir) as conn:
        conn.execute(sql, names)
    with pytest.raises(StoreTampered, match="outbox op at seq"):
        store.outbox.pending()
    store.close()
    with pytest.raises(StoreDamaged):
        Store.open(store_dir, PASS)


def test_state_moved_to_another_key_is_refused(store: Store, store_dir: Path) -> None:
    store.state.set("device_token", TOKEN)
    store.state.set("server_url", "https://cme.example.invalid")
    assert store.state.get("device_token") == TOKEN and store.state.get("absent", 5) == 5
    with raw(store_dir) as conn:
        conn.execute("UPDATE kv SET blob = (SELECT blob FROM kv WHERE tag = ?) WHERE tag = ?",
                     (tag(store, "kv", "device_token"), tag(store, "kv", "server_url")))
    with pytest.raises(StoreTampered):
        store.state.get("server_url")
    store.close()
    with pytest.raises(StoreDamaged):
        Store.open(store_dir, PASS)


# ---- photos -------------------------------------------------------------------------------------

def test_three_mib_photo_round_trips_and_resumes_from_an_offset(store: Store, store_dir: Path) -> None:
    photo = os.urandom(3 * MIB + 12345)
    assert store.photos.put("ph-1", photo) == hashlib.sha256(photo).hexdigest()
    store.close()
    with Store.open(store_dir, PASS) as again:
        assert again.photos.size("ph-1") == len(photo)
        assert again.photos.read("ph-1") == photo
        for offset in (0, 1, MIB - 1, MIB, 2 * MIB + 7, len(photo) - 1, len(photo)):
            pieces = list(again.photos.stream("ph-1", offset, chunk=100_000))
            assert b"".join(pieces) == photo[offset:]
            assert all(len(p) <= 100_000 for p in pieces)
        with pytest.raises(ValueError):
            list(again.photos.stream("ph-1", len(photo) + 1))


def test_photo_from_a_stream_replacement_empty_and_delete(store: Store) -> None:
    photo = os.urandom(MIB + 1)
    assert store.photos.put("ph-1", io.BytesIO(photo)) == hashlib.sha256(photo).hexdigest()
    assert store.photos.read("ph-1") == photo
    store.photos.put("ph-1", b"smaller")
    assert store.photos.read("ph-1") == b"smaller"
    assert store.photos.put("ph-0", b"") == hashlib.sha256(b"").hexdigest()
    assert store.photos.read("ph-0") == b"" and store.photos.size("ph-0") == 0
    store.photos.delete("ph-1")
    with pytest.raises(PhotoNotFound):
        store.photos.read("ph-1")


@pytest.fixture
def chunked(store_dir: Path) -> Iterator[tuple[Store, Path, bytes, dict[str, str]]]:
    """An open store holding a 4-chunk photo 'ph-1' (4 KiB chunks) and a photo 'ph-2', with their row tags."""
    photo = os.urandom(3 * 4096 + 100)
    with Store.create(store_dir, PASS, kdf_n=CHEAP_N, chunk_size=4096) as s:
        s.photos.put("ph-1", photo)
        s.photos.put("ph-2", os.urandom(2 * 4096))
        yield s, store_dir, photo, {"p1": tag(s, "photo", "ph-1"), "p2": tag(s, "photo", "ph-2")}


@pytest.mark.parametrize("sql", [
    "DELETE FROM photos WHERE photo_tag = :p1 AND chunk_index = 3",                    # truncated
    "DELETE FROM photos WHERE photo_tag = :p1 AND chunk_index = 1",                    # hole
    "UPDATE photos SET chunk_index = 9 - chunk_index WHERE photo_tag = :p1 AND chunk_index IN (1, 2);"
    "UPDATE photos SET chunk_index = chunk_index - 6 WHERE photo_tag = :p1 AND chunk_index IN (7, 8)",  # reorder
    "UPDATE photos SET blob = (SELECT blob FROM photos WHERE photo_tag = :p2 AND chunk_index = 0)"
    " WHERE photo_tag = :p1 AND chunk_index = 0",                                        # spliced
    "UPDATE photos SET blob = substr(blob, 1, length(blob) - 1) WHERE photo_tag = :p1 AND chunk_index = 3",
    "UPDATE photos SET blob = CAST(zeroblob(4124) AS BLOB) WHERE photo_tag = :p1 AND chunk_index = 2",
    "UPDATE photos SET blob = (SELECT blob FROM photos WHERE photo_tag = :p2 AND chunk_index = -1)"
    " WHERE photo_tag = :p1 AND chunk_index = -1",                                       # another's header
])
def test_altered_photo_chunks_are_refused(chunked: tuple[Store, Path, bytes, dict[str, str]], sql: str) -> None:
    store, store_dir, _, tags = chunked
    with raw(store_dir) as conn:
        for statement in sql.split(";"):
            conn.execute(statement, tags)
    with pytest.raises(StoreTampered):
        store.photos.read("ph-1")
    store.close()
    with pytest.raises(StoreDamaged):
        Store.open(store_dir, PASS)


def test_flipped_byte_in_a_photo_chunk_is_refused_even_when_resuming_past_it(
        chunked: tuple[Store, Path, bytes, dict[str, str]]) -> None:
    store, store_dir, photo, tags = chunked
    with raw(store_dir) as conn:
        blob = conn.execute("SELECT blob FROM photos WHERE photo_tag = ? AND chunk_index = 3",
                            (tags["p1"],)).fetchone()[0]
        conn.execute("UPDATE photos SET blob = ? WHERE photo_tag = ? AND chunk_index = 3",
                     (flip_byte(blob, 40), tags["p1"]))
    assert next(store.photos.stream("ph-1", 0, 4096)) == photo[:4096]  # streamed lazily: chunk 0 is sound
    with pytest.raises(StoreTampered, match="photo ph-1 chunk 3"):
        store.photos.read("ph-1")
    with pytest.raises(StoreTampered, match="photo ph-1 chunk 3"):
        list(store.photos.stream("ph-1", 3 * 4096 + 10))


# ---- nothing personal on disk -------------------------------------------------------------------

def test_no_plaintext_personal_data_or_token_on_disk(store: Store, store_dir: Path) -> None:
    store.records.put("cases", "42", 1, CHILD)
    store.records.put("carers", "c-1", 1, CARER)
    store.outbox.add("op-1", "42", "record_visit", {"notes": f"Spoke to {CARER['name']} at {CHILD['address']}"})
    store.state.set("device_token", TOKEN)
    marker = b"PHOTO-PLAINTEXT-MARKER-" * 2000
    store.photos.put("ph-1", marker)
    with store.transaction():
        store.records.put("cases", "43", 1, {"name": CHILD["name"] + " junior"})
        store.state.set("cursor", "c-900")
    secrets = [s.encode() for s in SECRETS] + [s.encode("utf-16-le") for s in SECRETS] + [marker[:40]]
    # Was in clear too (issue 7 item 10): case ids, op ids and kinds, state keys, error text.
    store.outbox.record_attempt("op-1", "http-503 from upstream")
    secrets += [b"record_visit", b"device_token", b"op-1", b"cursor", b"http-503", b"cases", b"ph-1"]
    store_tag = tag(store, "record", "cases", "42").encode()

    def assert_clean() -> None:
        data = disk_bytes(store_dir)
        assert store_tag in data  # the scan does see what is in clear: opaque tags only
        leaked = [s for s in secrets if s in data]
        assert leaked == []

    assert (store_dir / (DB_NAME + "-wal")).exists()  # checked while open: WAL included
    assert_clean()
    store.close()
    assert_clean()
    assert sorted(p.name for p in store_dir.iterdir()) == [DB_NAME]  # nothing else written beside it


def test_sealed_lengths_are_padded_to_buckets_not_exact(store: Store, store_dir: Path) -> None:
    # Was: a blob's length was its plaintext's plus 28 bytes, so a note's or a name's exact length showed.
    store.records.put("cases", "1", 1, {"notes": "x" * 100})
    store.records.put("cases", "2", 1, {"notes": "x" * 150})
    store.outbox.add("op-1", "1", "record_visit", {"notes": "y" * 400})
    store.outbox.add("op-2", "2", "record_visit", {"notes": "y" * 600})
    store.photos.put("ph-1", b"p" * 3000)
    store.photos.put("ph-2", b"p" * 3900)
    with raw(store_dir) as conn:
        for table in ("records", "outbox"):
            assert len({n for n, in conn.execute(f"SELECT length(blob) FROM {table}")}) == 1
        assert len({n for n, in conn.execute("SELECT length(blob) FROM photos WHERE chunk_index = 0")}) == 1
    assert store.photos.read("ph-1") == b"p" * 3000 and store.photos.size("ph-2") == 3900

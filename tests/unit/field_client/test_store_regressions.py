"""Faults found by tests/integration/test_store_crash_safety.py (a client SIGKILLed at random points), each pinned
down here at the exact moment that exposed it. The process really is killed (SIGKILL, in a subprocess), so no
clean-up handler runs, as after a crash or a flat battery."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from field_client.store import DB_NAME, Store, StoreErased, StoreExists, StoreHooks

PASS = "tidal marmalade lantern quiver"
CHEAP_N = 2**10

# Runs Store.create (or erase) in a child that kills itself just before the SQL statement named by argv[2];
# "link": just before the finished store is linked into place; "unlink": when erase starts deleting the files.
# The kill is injected through the store's seams (`StoreHooks`), not by replacing module globals.
_CHILD = textwrap.dedent("""
    import os, signal, sys
    from field_client.store import Store, StoreHooks

    directory, kill_at = sys.argv[1], sys.argv[2]

    def die(*args):
        os.kill(os.getpid(), signal.SIGKILL)

    def building(sql):
        if sql == kill_at:
            die()

    if kill_at == "unlink":
        with Store.create(directory, "%s", kdf_n=%d) as store:
            store.records.put("cases", "42", 1, {"name": "Ada"})
        Store.open(directory, "%s", hooks=StoreHooks(remove_files=die)).erase()
    elif kill_at == "link":
        Store.create(directory, "%s", kdf_n=%d, hooks=StoreHooks(link=die))
    else:
        Store.create(directory, "%s", kdf_n=%d, hooks=StoreHooks(building=building))
    raise SystemExit("not killed")
""") % (PASS, CHEAP_N, PASS, PASS, CHEAP_N, PASS, CHEAP_N)


def _killed_while(directory: Path, kill_at: str) -> None:
    done = subprocess.run([sys.executable, "-c", _CHILD, str(directory), kill_at], capture_output=True, timeout=60)
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()[-2000:]


@pytest.mark.parametrize("kill_at", ["BEGIN IMMEDIATE", "CREATE INDEX outbox_by_case ON outbox (case_tag, seq)",
                                     "COMMIT", "link"])
def test_a_create_killed_part_way_leaves_no_store_and_the_device_can_enrol_again(tmp_path: Path,
                                                                                 kill_at: str) -> None:
    # Was: the empty store.db made before the schema was committed stayed behind, so Store.open said
    # "damaged" (StoreTampered) and Store.create said StoreExists: the device could not be enrolled again.
    directory = tmp_path / "store"
    _killed_while(directory, kill_at)
    assert not Store.exists(directory)
    with Store.create(directory, PASS, kdf_n=CHEAP_N) as store:
        store.state.set("k", 1)
    assert sorted(p.name for p in directory.iterdir()) == [DB_NAME]  # the interrupted attempt left nothing
    with Store.open(directory, PASS) as store:
        assert store.state.get("k") == 1


def test_an_erase_killed_before_the_files_go_is_finished_by_the_next_open(tmp_path: Path) -> None:
    # Was: the key was destroyed but store.db stayed, so every later open said StoreErased and create said
    # StoreExists: the device could neither be used nor enrolled again.
    directory = tmp_path / "store"
    _killed_while(directory, "unlink")
    with pytest.raises(StoreErased):
        Store.open(directory, PASS)
    assert not Store.exists(directory)
    Store.create(directory, PASS, kdf_n=CHEAP_N).close()


def test_create_still_works_on_a_file_system_without_hard_links(tmp_path: Path) -> None:
    # The fix above links the finished store into place; FAT and some network shares cannot link.
    def no_links(*args: object) -> None:
        raise PermissionError("hard links are not supported here")

    no_hard_links = StoreHooks(link=no_links)
    directory = tmp_path / "store"
    Store.create(directory, PASS, kdf_n=CHEAP_N, hooks=no_hard_links).close()
    assert sorted(p.name for p in directory.iterdir()) == [DB_NAME]
    with pytest.raises(StoreExists):
        Store.create(directory, PASS, kdf_n=CHEAP_N, hooks=no_hard_links)
    Store.open(directory, PASS).close()


def test_an_interrupted_erase_leaves_no_store_to_block_enrolment(tmp_path):
    """A store marked erased but not yet deleted is finished off by `exists`, so the device can enrol again."""
    import sqlite3

    from field_client.store import Store

    store = Store.create(tmp_path, "a passphrase", kdf_n=2**10)
    store.close()
    conn = sqlite3.connect(tmp_path / "store.db")
    conn.execute("UPDATE meta SET erased = 1")
    conn.commit()
    conn.close()
    assert Store.exists(tmp_path) is False
    assert not (tmp_path / "store.db").exists()
    Store.create(tmp_path, "another passphrase", kdf_n=2**10).close()


def test_a_crash_seam_injected_into_one_store_leaves_every_other_store_alone(tmp_path: Path) -> None:
    # Was: tests replaced module globals (`field_client.store._remove_files`), so a simulated crash hit every
    # store in the process. The seam now belongs to the store it was given to.
    crashing = Store.create(tmp_path / "a", PASS, kdf_n=CHEAP_N, hooks=StoreHooks(remove_files=lambda path: None))
    ordinary = Store.create(tmp_path / "b", PASS, kdf_n=CHEAP_N)
    crashing.erase()
    ordinary.erase()
    assert [p.name for p in (tmp_path / "a").iterdir()] == [DB_NAME]  # the "crash" kept its erased file
    assert list((tmp_path / "b").iterdir()) == []
    with pytest.raises(StoreErased):
        Store.open(tmp_path / "a", PASS)

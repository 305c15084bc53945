"""The store's key derivation and passphrase rules (issue 7 item 7).

Was: scrypt N=2^15 (below OWASP's minimum), never calibrated; a one-character passphrase was accepted; and
CME_FIELD_KDF_N silently made real stores cheap to attack.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from field_client import crypto
from field_client.store import DB_NAME, Store, WeakKdf, WeakPassphrase
from tests.unit.field_client.fake_sync_server import BASE, USERNAME
from tests.unit.field_client.test_field_cli import (  # noqa: F401  (fixtures)
    PASS, assert_one_line_error, home, run, server,
)

CHEAP_N = 2**10


def _header(directory: Path) -> dict:
    with sqlite3.connect(directory / DB_NAME) as conn:
        return json.loads(conn.execute("SELECT header FROM meta").fetchone()[0])


@pytest.fixture
def real_device(monkeypatch: pytest.MonkeyPatch) -> None:
    """Outside the test fixtures' explicit permission for a cheap KDF."""
    monkeypatch.delenv("CME_FIELD_TEST_WEAK_KDF", raising=False)


def test_cheap_kdf_n_is_refused_outside_tests(tmp_path: Path, real_device: None) -> None:
    with pytest.raises(WeakKdf, match="below the minimum"):
        Store.create(tmp_path, PASS, kdf_n=CHEAP_N)
    assert not (tmp_path / DB_NAME).exists()


def test_cme_field_kdf_n_cannot_weaken_an_officers_store(server, home: Path, real_device: None,  # noqa: F811
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CME_FIELD_KDF_N", "1024")
    result = run("enrol", "--server", BASE, "--username", USERNAME)
    assert_one_line_error(result, 1, "below the minimum")
    assert not Store.exists(home)


def _fake_clock(monkeypatch: pytest.MonkeyPatch, seconds_per_derivation: float) -> None:
    ticks = iter(range(1000))
    monkeypatch.setattr(crypto.time, "perf_counter", lambda: next(ticks) * seconds_per_derivation)


def test_calibration_raises_the_cost_on_a_fast_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_clock(monkeypatch, 0.05)  # the minimum takes 50 ms here: memory doubles, then passes are added
    params = crypto.calibrate()
    assert params.n == crypto.CALIBRATED_MAX_N and params.r == 8 and params.p == 5
    assert params.meets_minimum()


def test_calibration_never_goes_below_the_owasp_minimum(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_clock(monkeypatch, 3.0)  # a slow machine still gets the minimum
    params = crypto.calibrate()
    assert (params.n, params.r, params.p) == (2**17, 8, 1)
    floor = crypto.KdfParams.fresh(2**18, 8, 3)
    assert crypto.calibrate(floor=floor).cost() >= floor.cost()  # never cheaper than the store had


def test_passphrase_change_can_raise_the_cost(tmp_path: Path) -> None:
    with Store.create(tmp_path, PASS, kdf_n=CHEAP_N) as store:
        store.records.put("cases", "1", 1, {"a": 1})
        store.passphrase.change(PASS, "a stronger passphrase now", kdf_n=2**12)
        assert store.passphrase.kdf_params().n == 2**12
    assert _header(tmp_path)["n"] == 2**12
    with Store.open(tmp_path, "a stronger passphrase now") as store:
        assert store.records.get("cases", "1") == {"a": 1}


def test_passphrase_change_outside_tests_recalibrates_to_at_least_the_minimum(tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    with Store.create(tmp_path, PASS, kdf_n=CHEAP_N) as store:
        monkeypatch.delenv("CME_FIELD_TEST_WEAK_KDF")
        store.passphrase.change(PASS, "a stronger passphrase now")
        assert store.passphrase.kdf_params().meets_minimum()


def test_a_store_below_the_minimum_is_strengthened_at_its_next_open(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    with Store.create(tmp_path, PASS, kdf_n=CHEAP_N) as store:
        store.outbox.add("op-1", "1", "record_visit", {"a": 1})
    monkeypatch.delenv("CME_FIELD_TEST_WEAK_KDF")
    with Store.open(tmp_path, PASS) as store:
        assert [item.op_id for item in store.outbox.pending()] == ["op-1"]
    header = _header(tmp_path)
    assert header["n"] >= 2**17 and header["r"] == 8


@pytest.mark.parametrize("passphrase", [
    "x", "short words", "password1234", "Password-2024!", "Correct Horse Battery Staple",
    "correcthorsebatterystaple", "123456789012", "qwertyuiopas", "aaaaaaaaaaaaaaa", "abababababababab",
    "1234iloveyou5678", "  P@ssw0rd  2025", "Liverpool1892!!",
])
def test_short_or_common_passphrase_is_refused(tmp_path: Path, passphrase: str) -> None:
    with pytest.raises(WeakPassphrase):
        Store.create(tmp_path, passphrase, kdf_n=CHEAP_N)
    assert not (tmp_path / DB_NAME).exists()
    with Store.create(tmp_path, PASS, kdf_n=CHEAP_N) as store:
        with pytest.raises(WeakPassphrase):
            store.passphrase.change(PASS, passphrase)
    with Store.open(tmp_path, PASS):
        pass  # the refused change left the store as it was


@pytest.mark.parametrize("passphrase", ["tidal marmalade lantern quiver", "ferns under a copper kettle",
                                        "Mañana-7-glaciers"])
def test_a_long_uncommon_passphrase_is_accepted(tmp_path: Path, passphrase: str) -> None:
    Store.create(tmp_path, passphrase, kdf_n=CHEAP_N).close()
    Store.open(tmp_path, passphrase).close()


def test_enrol_refuses_a_one_character_passphrase_before_contacting_the_server(server, home: Path,  # noqa: F811
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CME_FIELD_PASSPHRASE", "x")
    result = run("enrol", "--server", BASE, "--username", USERNAME)
    assert_one_line_error(result, 1, "at least 12 characters")
    assert not Store.exists(home)

"""`cme-field` with click's CliRunner against the fake server: the officer's journey, and one-line errors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from field_client import state
from field_client.cli import cli
from field_client.cli import common as cli_common
from field_client.cli.common import Seams
from field_client.store import Store
from tests.unit.field_client.fake_sync_server import BASE, PASSWORD, USERNAME, FakeServer, make_case

PASS = "tidal marmalade lantern quiver"


# The seams `run` hands the CLI (as click's `obj`): the `server` fixture routes its HTTP to the fake server.
_SEAMS: dict[str, Seams] = {}


@pytest.fixture
def server() -> Iterator[FakeServer]:
    fake = FakeServer()
    _SEAMS["cli"] = Seams(make_session=fake.session)
    yield fake
    _SEAMS.clear()


@pytest.fixture
def home(tmp_path: Path, monkeypatch) -> Path:
    path = tmp_path / "field-home"
    for name, value in {"CME_FIELD_HOME": str(path), "CME_FIELD_PASSPHRASE": PASS, "CME_FIELD_PASSWORD": PASSWORD,
                        "CME_FIELD_KDF_N": "1024"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("CME_FIELD_DEBUG", raising=False)
    monkeypatch.delenv("CME_FIELD_NEW_PASSPHRASE", raising=False)
    return path


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=input, obj=_SEAMS.get("cli"))


def assert_one_line_error(result: Result, code: int, fragment: str) -> None:
    assert result.exit_code == code, (result.output, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and fragment in lines[0], result.stderr
    assert "Traceback" not in result.output + result.stderr


@pytest.fixture
def enrolled(server: FakeServer, home: Path) -> FakeServer:
    result = run("enrol", "--server", BASE, "--username", USERNAME, "--device-name", "tablet-7")
    assert result.exit_code == 0, result.stderr
    assert "Enrolled device 11 (tablet-7)" in result.output
    server.assign(make_case(1, reference="CME-00001"), make_case(2, reference="CME-00002"))
    assert run("sync").exit_code == 0
    return server


def value_of(output: str, label: str) -> str:
    for line in output.splitlines():
        if line.startswith(label + ":"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"{label} not in {output!r}")


def set_last_contact(home: Path, when: datetime) -> None:
    with Store.open(home, PASS) as store:
        store.state.set(state.LAST_CONTACT, state.utc_iso(when))


def test_the_officers_journey(enrolled, home, tmp_path):
    listing = run("cases")
    assert listing.exit_code == 0 and "CME-00001" in listing.output and "Ada Example2" in listing.output
    assert "1 Test Street, Medway, ME4 4TR" in listing.output
    shown = run("show", "1")
    assert shown.exit_code == 0 and "child in need" in shown.output and "Knock twice" in shown.output
    photo = tmp_path / "notice.jpg"
    photo.write_bytes(b"\xff\xd8" + b"p" * 3000)
    visit = run("visit", "1", "--outcome", "no_answer", "--notice-left", "--photo", str(photo))
    assert visit.exit_code == 0, visit.stderr
    visit_op = visit.output.split("Visit recorded: ")[1].split()[0]
    assert run("address-check", "2", "--source", "council_tax", "--result", "no_record").exit_code == 0
    assert run("photo", visit_op, str(photo), "--caption", "second copy").exit_code == 0
    outbox = run("outbox")
    assert "record_home_visit" in outbox.output and "photo not uploaded yet" in outbox.output
    assert value_of(run("status").output, "Pending ops") == "4"
    synced = run("sync")
    assert synced.exit_code == 0, synced.stderr
    assert "Sent 4 operation(s) (4 applied)" in synced.output and "Photos uploaded: 2" in synced.output
    assert "Outbox empty" in run("outbox").output
    status = run("status").output
    assert value_of(status, "Pending ops") == "0" and value_of(status, "Locked") == "no"
    assert len(enrolled.photos) == 1  # the same bytes twice: one photo by hash


def test_status_shows_quarantines_from_the_server(enrolled):
    assert run("acknowledge", "2").exit_code == 0
    enrolled.unassign(2)
    assert run("sync").exit_code == 0
    status = run("status").output
    assert "Server verdicts to review (1)" in status and "quarantined (out_of_scope)" in status


def test_change_proposal(enrolled):
    result = run("change", "1", "--contact-phone", "01632 960123", "--carer", "7.email=bea@example.org")
    assert result.exit_code == 0, result.stderr
    assert run("sync").exit_code == 0 and enrolled.apply_counts


def test_invalid_capture_is_one_line_naming_the_problem(enrolled):
    result = run("visit", "1", "--outcome", "new_address_obtained")
    assert_one_line_error(result, 1, "payload.new_address: required when outcome is new_address_obtained")
    assert "Outbox empty" in run("outbox").output


def test_wrong_passphrase_is_one_line(enrolled, monkeypatch):
    monkeypatch.setenv("CME_FIELD_PASSPHRASE", "not it")
    assert_one_line_error(run("cases"), 1, "wrong passphrase")


def test_no_store_is_one_line(server, home):
    assert_one_line_error(run("status"), 1, "enrol this device first")


def test_unknown_case_is_one_line(enrolled):
    assert_one_line_error(run("show", "99"), 1, "case 99 is not on this device")


def test_usage_errors_stay_click_usage_errors(enrolled):
    result = run("visit", "1", "--outcome", "teleported")
    assert result.exit_code == 2 and "Invalid value for '--outcome'" in result.stderr
    assert "Traceback" not in result.stderr


def test_network_failure_is_one_line_and_keeps_work(enrolled, home):
    assert run("visit", "1", "--outcome", "no_answer").exit_code == 0
    enrolled.fail("POST /api/sync/push", "down", times=100)
    result = run("sync")
    assert_one_line_error(result, cli_common.EXIT_OFFLINE, "cannot reach the server")
    assert "record_home_visit" in run("outbox").output


def test_locked_device_refuses_case_data_until_sync(enrolled, home, tmp_path):
    set_last_contact(home, datetime.now(timezone.utc) - timedelta(days=2))
    for args in (["cases"], ["show", "1"], ["outbox"], ["visit", "1", "--outcome", "no_answer"]):
        assert_one_line_error(run(*args), cli_common.EXIT_LOCKED, "offline too long")
    assert "YES (run sync)" in run("status").output
    assert run("sync").exit_code == 0
    assert run("cases").exit_code == 0


def test_revoked_device_is_erased(enrolled, home):
    enrolled.status = "revoked"
    assert_one_line_error(run("sync"), cli_common.EXIT_REVOKED, "revoked")
    assert not Store.exists(home)


def test_retired_device_sends_everything_and_erases(enrolled, home):
    assert run("visit", "2", "--outcome", "child_seen").exit_code == 0
    enrolled.status = "retired"
    result = run("sync")
    assert result.exit_code == 0 and "retired" in result.output
    assert enrolled.goodbyes == 1 and len(enrolled.applied) == 1 and not Store.exists(home)


def test_enrol_twice_is_refused(enrolled):
    assert_one_line_error(run("enrol", "--server", BASE, "--username", USERNAME), 1, "already exists")


def test_failed_enrolment_leaves_no_store(server, home, monkeypatch):
    monkeypatch.setenv("CME_FIELD_PASSWORD", "wrong")
    assert_one_line_error(run("enrol", "--server", BASE, "--username", USERNAME), 1, "401")
    assert not Store.exists(home)


def test_plain_http_to_a_remote_server_is_refused(server, home):
    result = run("enrol", "--server", "http://cme.example.gov.uk", "--username", USERNAME)
    assert_one_line_error(result, 1, "refusing plain http")
    assert not Store.exists(home)


def test_passphrase_change(enrolled, home, monkeypatch):
    monkeypatch.setenv("CME_FIELD_NEW_PASSPHRASE", "a brand new passphrase")
    assert run("passphrase").exit_code == 0
    assert_one_line_error(run("cases"), 1, "wrong passphrase")
    monkeypatch.setenv("CME_FIELD_PASSPHRASE", "a brand new passphrase")
    assert run("cases").exit_code == 0


def test_prompted_passphrase(enrolled, monkeypatch):
    monkeypatch.delenv("CME_FIELD_PASSPHRASE")
    result = run("cases", input=PASS + "\n")
    assert result.exit_code == 0 and "CME-00001" in result.output and PASS not in result.output


def test_erase_asks_first(enrolled, home):
    assert run("visit", "1", "--outcome", "no_answer").exit_code == 0
    refused = run("erase", input="n\n")
    assert refused.exit_code == 1 and "1 operation(s) not yet sent will be LOST" in refused.output
    assert Store.exists(home)
    assert run("erase", "--yes").exit_code == 0
    assert not Store.exists(home)


def test_unexpected_errors_are_one_line_too(enrolled, monkeypatch):
    from field_client.engine import SyncEngine

    def boom(self, *args, **kwargs):
        raise RuntimeError("something odd")

    monkeypatch.setattr(SyncEngine, "cases", boom)
    assert_one_line_error(run("cases"), 1, "unexpected RuntimeError: something odd")

"""`cme-field sign-in`: a device whose token expired gets back in without losing what it captured offline."""

from __future__ import annotations

from field_client import state
from field_client.cli import common as cli_common
from field_client.store import Store
from tests.unit.field_client.fake_sync_server import BASE, OTHER_USERNAME, PASSWORD, USERNAME
from tests.unit.field_client.test_field_cli import (  # noqa: F401
    PASS, assert_one_line_error, enrolled, home, run, server, value_of,
)


def _token(home) -> str:
    with Store.open(home, PASS) as store:
        return store.state.get(state.DEVICE_TOKEN)


def test_expired_token_sync_says_to_sign_in_and_keeps_the_outbox(enrolled, home):  # noqa: F811
    assert run("visit", "1", "--outcome", "no_answer", "--notes", "letter left").exit_code == 0
    enrolled.expire_token()
    result = run("sync")
    assert_one_line_error(result, cli_common.EXIT_FAILURE, "run `cme-field sign-in")
    assert "unsent work is kept" in result.stderr
    assert "record_home_visit" in run("outbox").output


def test_expired_token_device_signs_in_and_sends_its_unsent_work(enrolled, home):  # noqa: F811
    assert run("visit", "1", "--outcome", "no_answer").exit_code == 0
    enrolled.expire_token()
    assert run("sync").exit_code == 1
    signed = run("sign-in", "--username", USERNAME)
    assert signed.exit_code == 0, signed.stderr
    assert "Work not yet sent: 1 operation(s), kept" in signed.output
    assert _token(home) == enrolled.token and enrolled.renewals == 1
    assert "CME-00001" in run("cases").output  # cases were kept
    synced = run("sync")
    assert synced.exit_code == 0, synced.stderr
    assert "Sent 1 operation(s) (1 applied)" in synced.output and len(enrolled.applied) == 1


def test_sign_in_with_a_wrong_password_changes_nothing(enrolled, home, monkeypatch):  # noqa: F811
    before = _token(home)
    enrolled.expire_token()
    monkeypatch.setenv("CME_FIELD_PASSWORD", "not my password")
    assert_one_line_error(run("sign-in", "--username", USERNAME), 1, "401")
    assert _token(home) == before and Store.exists(home)


def test_another_officer_cannot_sign_in_to_this_device(enrolled, home):  # noqa: F811
    before = _token(home)
    enrolled.expire_token()
    assert_one_line_error(run("sign-in", "--username", OTHER_USERNAME), 1, "Only the officer this device")
    assert _token(home) == before and enrolled.renewals == 0


def test_sign_in_of_a_revoked_device_erases_it(enrolled, home):  # noqa: F811
    enrolled.expire_token()
    enrolled.status = "revoked"
    assert_one_line_error(run("sign-in", "--username", USERNAME), cli_common.EXIT_REVOKED, "revoked")
    assert not Store.exists(home)


def test_sign_in_prompts_for_the_password(enrolled, home, monkeypatch):  # noqa: F811
    enrolled.expire_token()
    monkeypatch.delenv("CME_FIELD_PASSWORD")
    result = run("sign-in", "--username", USERNAME, input=PASSWORD + "\n")
    assert result.exit_code == 0, result.stderr
    assert PASSWORD not in result.output and run("sync").exit_code == 0


def test_enrol_on_an_enrolled_device_points_to_sign_in(enrolled):  # noqa: F811
    assert_one_line_error(run("enrol", "--server", BASE, "--username", USERNAME), 1, "cme-field sign-in")

"""`cme-field` against hostile data: what a referrer, the server or a network path can make it print or do."""

from __future__ import annotations

from click.testing import Result

from field_client import state
from field_client.cli.common import CliFailure, shown
from field_client.store import Store
from tests.unit.field_client.fake_sync_server import USERNAME, make_case
from tests.unit.field_client.test_field_cli import (  # noqa: F401
    PASS, assert_one_line_error, enrolled, home, run, server,
)
from tests.unit.field_client.test_transport_redirects import redirecting  # noqa: F401

OSC_TITLE, CLEAR_SCREEN, BIDI = "\x1b]0;pwned\x07", "\x1b[2J", "\u202e"


def _raw_escapes(result: Result) -> list[str]:
    text = result.output + result.stderr
    return [ch for ch in ("\x1b", "\x07", "\x9b", BIDI, "\u2028") if ch in text]


def _assign_hostile(server, **child) -> None:  # noqa: F811
    snapshot = make_case(3, reference="CME-00003")
    snapshot["child"].update(child)
    snapshot["assignment"]["instructions"] = f"Knock {CLEAR_SCREEN}twice\nSafeguarding: none recorded"
    snapshot["current_address"]["line1"] = f"[bold]1{BIDI} Evil Row"
    server.assign(snapshot)
    assert run("sync").exit_code == 0


def test_first_name_that_is_rich_markup_lists_fine(enrolled):  # noqa: F811
    _assign_hostile(enrolled, first_name="[/]", last_name="[red]Smith")
    listing = run("cases")
    assert listing.exit_code == 0, listing.stderr
    assert "[/] [red]Smith" in listing.output and "[bold]1" in listing.output
    assert "Traceback" not in listing.output + listing.stderr


def test_osc_title_and_clear_screen_never_reach_the_terminal_raw(enrolled):  # noqa: F811
    _assign_hostile(enrolled, first_name=OSC_TITLE, preferred_name=CLEAR_SCREEN)
    for args in (["cases"], ["show", "3"]):
        result = run(*args)
        assert result.exit_code == 0, result.stderr
        assert _raw_escapes(result) == [], args
        assert "\\x1b]0;pwned\\x07" in result.output  # shown, harmless, so the officer can report it
    shown_case = run("show", "3").output
    assert "\\u202e" in shown_case
    # a line break in data cannot forge a line of its own
    assert not any(line.startswith("Safeguarding: none") for line in shown_case.splitlines())


def test_server_verdict_detail_with_escape_codes_is_escaped_in_status(enrolled):  # noqa: F811
    enrolled.force["record_home_visit"] = {"status": "quarantined", "reason": "invalid",
                                           "detail": f"bad{OSC_TITLE}{CLEAR_SCREEN}"}
    assert run("visit", "1", "--outcome", "no_answer").exit_code == 0
    assert run("sync").exit_code == 0
    status = run("status")
    assert "quarantined" in status.output and _raw_escapes(status) == []


def test_server_problem_detail_with_escape_codes_is_escaped_in_the_error_line():
    failure = CliFailure(f"server answered 400: {OSC_TITLE}\nline two")
    assert "\x1b" not in failure.message and "\x07" not in failure.message and "\n" not in failure.message


def test_shown_keeps_names_intact_and_escapes_markup_on_request():
    assert shown("Zoë مهرداد\u200cی Ann-Marie") == "Zoë مهرداد\u200cی Ann-Marie"
    assert shown("[/]", markup=True) == "\\[/]"
    assert shown("a\x1bb\u200bc\ud800") == "a\\x1bb\\u200bc\\ud800"
    assert shown(None) == ""


def test_sync_answered_with_a_307_exits_1_and_sends_nothing_elsewhere(enrolled, home, redirecting):  # noqa: F811
    target, elsewhere = redirecting
    assert run("visit", "1", "--outcome", "no_answer", "--notes", "family moved abroad").exit_code == 0
    with Store.open(home, PASS) as store:
        store.state.set(state.SERVER_URL, target.url)  # as if the server (or a proxy) started redirecting
    result = run("sync")
    assert_one_line_error(result, 1, "redirecting to 127.0.0.1")
    assert elsewhere.hits == [] and len(target.hits) == 1
    assert "record_home_visit" in run("outbox").output  # the work is kept


def test_enrol_answered_with_a_307_leaves_no_store(server, home, redirecting):  # noqa: F811
    target, elsewhere = redirecting
    result = run("enrol", "--server", target.url, "--username", USERNAME)
    assert_one_line_error(result, 1, "redirecting")
    assert elsewhere.hits == [] and not Store.exists(home)


def test_cli_refuses_a_visit_time_whose_utc_value_overflows(enrolled):  # noqa: F811
    result = run("visit", "1", "--outcome", "no_answer", "--visited-at", "9999-12-31T23:30:00-01:00")
    assert_one_line_error(result, 1, "payload.visited_at: is out of range")
    assert "Outbox empty" in run("outbox").output


def test_cli_refuses_control_characters_and_lone_surrogates_naming_the_field(enrolled):  # noqa: F811
    result = run("visit", "1", "--outcome", "no_answer", "--person-spoken-to", CLEAR_SCREEN)
    assert_one_line_error(result, 1, "payload.person_spoken_to: contains a control character (U+001B)")
    assert _raw_escapes(result) == []
    undecodable_argv = "Smith\udcff"  # what Python makes of a byte that is not UTF-8 on the command line
    result = run("change", "1", "--new-line1", undecodable_argv, "--new-postcode", "ME4 4TR")
    assert_one_line_error(result, 1, "payload.changes.current_address.line1: contains a lone surrogate")
    assert "Outbox empty" in run("outbox").output

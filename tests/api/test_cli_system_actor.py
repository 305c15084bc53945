"""Command-line work is done by the system, not by an admin who happened to be first in the users table
(DESIGN.md "Security model": the audit log says who did what; a command run by cron names no person)."""
from __future__ import annotations

from click.testing import CliRunner

from sqlalchemy import select

from server.adapters.access_models import AuditEntry
from server.cli import cli
from server.demo import seed
from server.domain.access import SYSTEM, Permission, require

TERMS = ("academic_year,name,start,end\n"
         "2026-27,Autumn 1,2026-09-02,2026-10-23\n"
         "2026-27,Autumn 2,2026-11-02,2026-12-18\n")


def term_date_loads(client, reader) -> list[dict]:
    resp = client.get("/api/audit?action=term_dates.load", headers=reader.headers)
    assert resp.status_code == 200
    return resp.get_json()


def test_load_term_dates_command_is_audited_as_system_not_as_the_first_admin(app, accounts, tmp_path,
                                                                             monkeypatch):
    path = tmp_path / "terms.csv"
    path.write_text(TERMS, encoding="utf-8")
    monkeypatch.setattr("server.cli._app", lambda: app)
    result = CliRunner().invoke(cli, ["load-term-dates", str(path)])
    assert result.exit_code == 0, result.output
    entries = term_date_loads(app.test_client(), accounts["supervisor"])
    assert [(e["actor"], e["actor_id"], e["detail"]) for e in entries] == [("system", None, "2026-27")]


def test_load_term_dates_command_needs_no_admin_account(app, tmp_path, monkeypatch):
    """Before, the command refused to run until some admin existed, to borrow their name."""
    path = tmp_path / "terms.csv"
    path.write_text(TERMS, encoding="utf-8")
    monkeypatch.setattr("server.cli._app", lambda: app)
    result = CliRunner().invoke(cli, ["load-term-dates", str(path)])
    assert result.exit_code == 0, result.output
    assert "loaded 2 terms" in result.output


def test_term_dates_loaded_by_an_admin_over_http_name_that_admin(client, accounts):
    admin = accounts["admin"]
    resp = client.put("/api/calendar/term-dates", json={"format": "csv", "content": TERMS}, headers=admin.headers)
    assert resp.status_code == 200, resp.get_json()
    entries = term_date_loads(client, accounts["supervisor"])
    assert [(e["actor"], e["actor_id"]) for e in entries] == [("user", admin.id)]


def test_demo_seeding_loads_its_term_dates_as_system_not_the_demo_admin(app):
    with app.extensions["cme"]["uow"].transaction() as unit:
        session = unit.session
        seed(unit, n_cases=1)
        loads = session.scalars(select(AuditEntry).where(AuditEntry.action == "term_dates.load")).all()
        assert [entry.actor_id for entry in loads] == [None]


def test_system_actor_names_no_user_and_may_do_admin_work():
    assert SYSTEM.user_id is None and SYSTEM.is_system
    require(SYSTEM, Permission.LOAD_TERM_DATES)  # raises Forbidden if not

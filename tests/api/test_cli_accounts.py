"""cme-server create-user and seed-demo act as the SYSTEM actor (no person borrowed), through the unit of work."""
from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import select

from server.adapters.access_models import User
from server.cli import cli


def _users(app) -> list[tuple[str, str]]:
    with app.extensions["cme"]["uow"].transaction() as unit:
        session = unit.session
        return [(u.username, u.role) for u in session.scalars(select(User).order_by(User.id))]


def test_create_user_command_works_on_an_empty_register_with_no_admin_to_borrow(app, monkeypatch):
    monkeypatch.setattr("server.cli._app", lambda: app)
    monkeypatch.setenv("CME_NEW_USER_PASSWORD", "a long enough password")
    result = CliRunner().invoke(cli, ["create-user", "ada", "--name", "Ada Admin", "--role", "admin"])
    assert result.exit_code == 0, result.output
    assert _users(app) == [("ada", "admin")]


def test_create_user_command_refuses_a_taken_username_as_a_message_not_a_traceback(app, monkeypatch):
    monkeypatch.setattr("server.cli._app", lambda: app)
    monkeypatch.setenv("CME_NEW_USER_PASSWORD", "a long enough password")
    args = ["create-user", "ada", "--name", "Ada Admin", "--role", "admin"]
    assert CliRunner().invoke(cli, args).exit_code == 0
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 1 and "is taken" in again.output and again.exception.__class__ is SystemExit
    assert _users(app) == [("ada", "admin")]


def test_seed_demo_command_seeds_once_then_leaves_a_seeded_register_alone(app, monkeypatch):
    monkeypatch.setattr("server.cli._app", lambda: app)
    first = CliRunner().invoke(cli, ["seed-demo", "--cases", "6"])
    assert first.exit_code == 0, first.output
    seeded = _users(app)
    assert ("supervisor", "supervisor") in seeded
    second = CliRunner().invoke(cli, ["seed-demo", "--cases", "6"])
    assert second.exit_code == 0 and "demo data not added" in second.output
    assert _users(app) == seeded

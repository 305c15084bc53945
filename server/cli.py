"""cme-server: migrate, manage users and term dates, seed demo data, serve."""
from __future__ import annotations

import os
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from .adapters.migrate import upgrade as migrate_upgrade
from .app import create_app
from .domain.errors import DomainError
from .domain.vocabulary import Role

console = Console()


def _app():
    return create_app()


def _uow(app):
    return app.extensions["cme"]["uow"]


@click.group()
def cli() -> None:
    """The CME register server."""


@cli.command()
def upgrade() -> None:
    """Migrate the database to the latest schema (DATABASE_URL, or SQLite under the instance folder)."""
    app = _app()
    migrate_upgrade(app.config["DATABASE_URL"])
    console.print("[green]database is at the latest schema[/green]")


@cli.command("create-user")
@click.argument("username")
@click.option("--name", "display_name", required=True, help="Full name shown to colleagues.")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.password_option(envvar="CME_NEW_USER_PASSWORD", help="At least 12 characters (prompted).")
def create_user(username: str, display_name: str, role: str, password: str) -> None:
    """Create a user account."""
    from .domain.access import SYSTEM
    from .service.users import add_user

    app = _app()
    try:
        with _uow(app).transaction() as uow:
            user = add_user(uow, SYSTEM, username, display_name, Role(role), password)
            user_id = user.id
    except DomainError as exc:
        raise click.ClickException(exc.detail) from None
    console.print(f"created {role} [bold]{username}[/bold] (id {user_id})")


@cli.command("load-term-dates")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def load_term_dates(path: Path) -> None:
    """Load a council's term dates from a CSV or JSON file (replacing the academic years it covers)."""
    from .domain.access import SYSTEM
    from .service.calendar import load_term_dates as load

    app = _app()
    fmt = "json" if path.suffix.lower() == ".json" else "csv"
    try:
        with _uow(app).transaction() as uow:
            terms = load(uow, SYSTEM, path.read_text(encoding="utf-8-sig"), fmt)
    except DomainError as exc:
        raise click.ClickException(f"{exc.field or path.name}: {exc.detail}") from None
    console.print(f"loaded {len(terms)} terms from {path.name}")


@cli.command("purge-uploads")
def purge_uploads() -> None:
    """Remove expired unfinished uploads and completed ones never attached to a visit (run daily; safe to run
    twice or on two instances at once)."""
    from .adapters.blobs import blob_store_for
    from .service.uploads import purge_uploads as purge

    app = _app()
    totals = {"expired": 0, "unlinked": 0}
    while True:  # in batches, each its own transaction
        with _uow(app).transaction() as uow:
            batch = purge(uow, blob_store_for(app))
        totals = {k: totals[k] + batch[k] for k in totals}
        if not any(batch.values()):
            break
    console.print(f"purged {totals['expired']} expired and {totals['unlinked']} unlinked uploads")


@cli.command("seed-demo")
@click.option("--cases", default=36, show_default=True, help="How many fictional cases.")
def seed_demo(cases: int) -> None:
    """Seed clearly fictional demo data (users, term dates, cases) into an empty database."""
    from .demo import DEMO_USERS, is_seeded, seed

    app = _app()
    with _uow(app).transaction() as uow:
        if is_seeded(uow):
            console.print("the database already has users; demo data not added")
            return
        seed(uow, cases)
    _print_demo_users(DEMO_USERS)


def _print_demo_users(users) -> None:
    table = Table(title="Demo accounts (fictional; for trying the product only)")
    for col in ("username", "role", "password"):
        table.add_column(col)
    for username, _, role, password in users:
        table.add_row(username, role.value, password)
    console.print(table)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    """Serve the API (threaded development server; use gunicorn 'server.wsgi:app' in production)."""
    app = _app()
    console.print(f"API docs: http://{host}:{port}/api/docs")
    app.run(host=host, port=port, threaded=True, use_reloader=False)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.pass_context
def demo(ctx: click.Context, host: str, port: int) -> None:
    """Migrate, seed the demo data if the database is empty, and serve: the one-command start."""
    ctx.invoke(upgrade)
    ctx.invoke(seed_demo)
    ctx.invoke(serve, host=host, port=port)


if __name__ == "__main__":  # pragma: no cover
    cli(prog_name=os.path.basename(__file__))

"""Commands that talk to the server or report on it: `sync`, `status`, `outbox`.

`status` and `sync` work while the device is locked (a successful sync unlocks); `outbox` is refused then.
"""

from __future__ import annotations

from typing import Any

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn
from rich.table import Table

from field_client import photos
from field_client.cli.common import Env, console, shown
from field_client.engine import SyncReport
from sync.vocabulary import OpKind

PHASES = {"push": "Sending records", "photos": "Uploading photos", "pull": "Receiving cases"}


@click.command()
@click.pass_obj
def sync(env: Env) -> None:
    """Send captured work and photos, then receive assigned cases."""
    engine = env.engine(online=True)
    out = console(stderr=True)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  console=out, transient=True) as bar:
        tasks: dict[str, Any] = {}

        def progress(phase: str, done: int, total: int | None) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(PHASES.get(phase, phase), total=total)
            bar.update(tasks[phase], completed=done, total=total)

        report = engine.sync(progress)
    _print_report(report)


def _print_report(report: SyncReport) -> None:
    if report.retired:
        click.echo("This device was retired: all work was sent and the local store has been erased.")
        return
    statuses = ", ".join(f"{n} {s}" for s, n in sorted((report.statuses or {}).items()))
    click.echo(f"Sent {report.pushed} operation(s)" + (f" ({statuses})" if statuses else "") + ".")
    click.echo(f"Photos uploaded: {report.photos_uploaded}" +
               (f", {report.photos_failed} to retry later" if report.photos_failed else "") + ".")
    click.echo(f"Cases received: {report.cases_received}; purged: {report.purged}; "
               f"kept until sent: {report.leaving}.")
    if report.resyncs:
        click.echo(f"Rebuilt the case list from the server ({report.resyncs} resync).")
    if report.consistent is False:
        click.echo("Warning: the server still disagrees about the cases held; sync again.", err=True)
    click.echo(f"Still to send: {report.pending}.")


@click.command()
@click.pass_obj
def status(env: Env) -> None:
    """Device, last sync, lock state, what is waiting to be sent, and the server's verdicts to review."""
    info = env.engine().status()
    age = info["cursor_age_seconds"]
    lines = [("Server", info["server"]), ("Device", f"{info['device_id']} ({info['device_name']})"),
             ("Last sync", info["last_sync"] or "never"),
             ("Cursor age", f"{age // 3600}h {age % 3600 // 60}m" if age is not None else "never pulled"),
             ("Locked", "YES (run sync)" if info["locked"] else "no"),
             ("Offline limit", f"{(info['offline_ttl_seconds'] or 0) // 3600}h"),
             ("Cases held", info["held_cases"]), ("Pending ops", info["pending_ops"]),
             ("Pending photos", info["pending_photos"])]
    if info["leaving"]:
        lines.append(("Leaving (unsent work)", ", ".join(map(str, info["leaving"]))))
    for label, value in lines:
        click.echo(shown(f"{label + ':':<24}{value}"))
    for error in info["photo_errors"]:
        click.echo(shown(f"{'Photo upload error:':<24}{error}"))
    _print_results(info["results"])


def _print_results(results: list[dict[str, Any]]) -> None:
    if not results:
        click.echo(f"{'Server verdicts:':<24}none to review")
        return
    click.echo(f"Server verdicts to review ({len(results)}):")
    for r in results:
        extra = r.get("reason") or ", ".join(r.get("fields") or []) or ""
        detail = f" - {r['detail']}" if r.get("detail") else ""
        click.echo(shown(f"  {r['at'][:16]}  case {r['case_id']}  {r['kind']}  {r['status']}"
                         + (f" ({extra})" if extra else "") + detail + f"  [op {r['op_id']}]"))


@click.command()
@click.pass_obj
def outbox(env: Env) -> None:
    """Operations waiting to be sent, with attempts and the last error."""
    engine = env.engine()
    items = engine.outbox()
    if not items:
        click.echo("Outbox empty: everything has been sent.")
        return
    table = Table("#", "Operation", "Kind", "Case", "Attempts", "Last error")
    for item in items:
        kind = item.kind
        if item.kind == OpKind.attach_photo and not photos.is_done(engine.store, item.op_id):
            kind += " (photo not uploaded yet)"
        cells = (item.seq, item.op_id, kind, item.case_id or "-", item.attempts, item.last_error or "-")
        table.add_row(*(shown(cell, markup=True) for cell in cells))
    console().print(table)


def register(group: click.Group) -> None:
    for command in (sync, status, outbox):
        group.add_command(command)

"""`cme-field`: the attendance officer's offline client (enrol, sync, cases, capture, status, erase).

Environment variables for automation are listed in `field_client.cli_common`. Case data is refused while the
device is locked (offline longer than the server's time-to-live); `sync`, `status`, `passphrase` and `erase`
still work, and a successful `sync` unlocks.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

from field_client import cli_capture, cli_cases, cli_common, cli_device, state
from field_client.cli_common import CliFailure, Env, FieldGroup, console, secret, shown
from field_client.engine import SyncReport
from field_client.store import DEFAULT_KDF_N, Store
from field_client.transport import Transport

PHASES = {"push": "Sending records", "photos": "Uploading photos", "pull": "Receiving cases"}


def _default_home() -> str:
    return str(Path("~/.cme-field").expanduser())


@click.group(cls=FieldGroup)
@click.option("--store", "store_dir", envvar="CME_FIELD_HOME", default=_default_home, show_default="~/.cme-field",
              type=click.Path(file_okay=False, path_type=Path), help="Store directory (env CME_FIELD_HOME).")
@click.option("--kdf-n", envvar="CME_FIELD_KDF_N", type=int, default=None, hidden=True,
              help="scrypt N for a new store or passphrase (default: calibrated on this machine, at least "
                   f"{DEFAULT_KDF_N}; lower only with CME_FIELD_TEST_WEAK_KDF=1, for tests).")
@click.pass_context
def cli(ctx: click.Context, store_dir: Path, kdf_n: int | None) -> None:
    """Offline client for CME home visits and address checks.

    \b
    For automation, instead of prompts:
      CME_FIELD_HOME            store directory (default ~/.cme-field)
      CME_FIELD_PASSPHRASE      store passphrase
      CME_FIELD_NEW_PASSPHRASE  new passphrase for `passphrase`
      CME_FIELD_PASSWORD        server password for `enrol` and `sign-in`
    Exit status: 0 ok, 1 error, 2 usage, 3 locked, 4 revoked (store erased), 5 try later (server unreachable or busy).
    """
    env = Env(home=store_dir, kdf_n=kdf_n)
    ctx.obj = env
    ctx.call_on_close(env.close)


@cli.command()
@click.option("--server", required=True, help="Server base URL, e.g. https://cme.example.gov.uk")
@click.option("--username", required=True)
@click.option("--device-name", default=socket.gethostname, show_default="this host's name")
@click.option("--allow-http", is_flag=True, hidden=True, help="Permit plain http to a non-local server.")
@click.pass_obj
def enrol(env: Env, server: str, username: str, device_name: str, allow_http: bool) -> None:
    """Enrol this device (password: prompted or env CME_FIELD_PASSWORD) and create its encrypted store."""
    if Store.exists(env.home):
        raise CliFailure(f"a store already exists at {env.home}: this device is enrolled (if its sign-in expired, "
                         "run `cme-field sign-in`, which keeps unsent work; to start afresh, erase it first)")
    transport = Transport(server, session=cli_common.make_session(), allow_insecure=allow_http)
    password = secret("CME_FIELD_PASSWORD", "Server password")
    passphrase = secret("CME_FIELD_PASSPHRASE", "New store passphrase", confirm=True)
    store = Store.create(env.home, passphrase, kdf_n=env.kdf_n)
    try:
        answer = transport.enrol(username, password, device_name)
        _save_enrolment(store, transport.base_url, device_name, answer)
    except BaseException:
        store.erase()
        raise
    finally:
        store.close()
    click.echo(shown(f"Enrolled device {answer['device_id']} ({device_name}) with {transport.base_url}."))


def _save_enrolment(store: Store, server: str, device_name: str, answer: dict[str, Any]) -> None:
    now = state.utc_iso(state.local_now())
    values = {state.SERVER_URL: server, state.DEVICE_ID: answer["device_id"],
              state.DEVICE_TOKEN: answer["device_token"], state.OFFICER_ID: answer.get("officer_id"),
              state.DEVICE_NAME: device_name, state.ENROLLED_AT: now,
              state.OFFLINE_TTL: int(answer["offline_ttl_seconds"]), state.LAST_CONTACT: now}
    with store.transaction():
        for key, value in values.items():
            store.state.set(key, value)


@cli.command()
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


@cli.command()
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


@cli.command()
@click.pass_obj
def passphrase(env: Env) -> None:
    """Change the store passphrase (new one: prompted, or env CME_FIELD_NEW_PASSPHRASE).

    The data key is replaced too and everything re-encrypted under it, and the key-derivation cost is
    recalibrated (never lowered), so an old copy of the passphrase or of the key header opens nothing new.
    """
    old = secret("CME_FIELD_PASSPHRASE", "Current passphrase")
    if not Store.exists(env.home):
        raise CliFailure(f"no store at {env.home}: enrol this device first (cme-field enrol)")
    store = env._store = Store.open(env.home, old)
    new = secret("CME_FIELD_NEW_PASSPHRASE", "New passphrase", confirm=True)
    store.passphrase.change(old, new, kdf_n=env.kdf_n)
    click.echo("Passphrase changed; the store was re-encrypted under a new key.")


@cli.command()
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def erase(env: Env, yes: bool) -> None:
    """Erase this device's store (cases, unsent work, photos, device token)."""
    store = env.store()
    pending = len(store.outbox.pending())
    warning = f" {pending} operation(s) not yet sent will be LOST." if pending else ""
    if not yes:
        click.confirm(f"Erase the store at {env.home}?{warning}", abort=True)
    store.erase()
    click.echo("Store erased.")


cli_cases.register(cli)
cli_capture.register(cli)
cli_device.register(cli)

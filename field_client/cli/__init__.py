"""`cme-field`: the attendance officer's offline client (enrol, sync, cases, capture, status, erase).

Environment variables for automation are listed in `field_client.cli.common`. Commands by concept: `device`
(enrol, sign-in, passphrase, erase), `sync` (sync, status, outbox), `cases` (cases, show) and `capture` (visit,
address-check, change, acknowledge, photo). Case data is refused while the device is locked (offline longer than
the server's time-to-live); `sync`, `status`, `passphrase` and `erase` still work, and a successful `sync` unlocks.
"""

from __future__ import annotations

from pathlib import Path

import click

from field_client.cli import capture, cases, device, sync
from field_client.cli.common import Env, FieldGroup, Seams
from field_client.store import DEFAULT_KDF_N


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
    seams = ctx.obj if isinstance(ctx.obj, Seams) else Seams()  # tests pass theirs as click's `obj`
    env = Env(home=store_dir, kdf_n=kdf_n, make_session=seams.make_session)
    ctx.obj = env
    ctx.call_on_close(env.close)


for commands in (device, sync, cases, capture):
    commands.register(cli)

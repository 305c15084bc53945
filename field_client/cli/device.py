"""The device's life: `enrol`, `sign-in` (again, keeping unsent work), `passphrase`, `erase`.

`sign-in` exists because without it the only way back from an expired token was `erase` and `enrol`, which
destroys whatever was captured offline. The server answers with a new token for the same device
(POST /api/devices/<id>/renew, the same shape as enrolment).
"""

from __future__ import annotations

import socket
from typing import Any

import click

from field_client import state
from field_client.cli.common import CliFailure, Env, secret, shown
from field_client.store import Store
from field_client.transport import Transport, TransportError
from sync.errors import DeviceRevoked


@click.command()
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
    transport = Transport(server, session=env.make_session(), allow_insecure=allow_http)
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


@click.command()
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


@click.command()
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


@click.command("sign-in")
@click.option("--username", required=True, help="Your server username (the officer this device belongs to).")
@click.pass_obj
def sign_in(env: Env, username: str) -> None:
    """Sign this device in again after its sign-in expired (password: prompted or env CME_FIELD_PASSWORD).

    Cases held and work not yet sent are kept; run `cme-field sync` afterwards."""
    store = env.store()
    device_id = store.state.get(state.DEVICE_ID)
    # The URL was vetted (https, or http to loopback) at enrolment; no token: the old one is what expired.
    transport = Transport(store.state.get(state.SERVER_URL), session=env.make_session(),
                          allow_insecure=True)
    password = secret("CME_FIELD_PASSWORD", "Server password")
    answer = _renew(store, transport, device_id, username, password)
    _save_sign_in(store, answer)
    pending = len(store.outbox.pending())
    click.echo(shown(f"Signed in again: device {device_id}. Work not yet sent: {pending} operation(s), kept. "
                     "Run `cme-field sync` to send it."))


def _renew(store: Store, transport: Transport, device_id: Any, username: str, password: str) -> dict[str, Any]:
    try:
        answer = transport.renew(device_id, username, password)
    except DeviceRevoked:
        store.erase()  # the council revoked this device: its data must go, as on sync
        raise
    except TransportError as exc:
        if exc.status == 403:
            raise CliFailure(f"{exc}. Only the officer this device is enrolled to can sign it in") from None
        raise
    if answer["device_id"] != device_id:
        raise CliFailure(f"the server signed in device {answer['device_id']}, not this device ({device_id}); "
                         "nothing was changed")
    officer = store.state.get(state.OFFICER_ID)
    if officer is not None and answer.get("officer_id") not in (None, officer):
        raise CliFailure("the server signed in another officer than the one this device holds cases for; "
                         "nothing was changed")
    return answer


def _save_sign_in(store: Store, answer: dict[str, Any]) -> None:
    """The new token only: a locked device stays locked until `sync` has pulled the current caseload."""
    with store.transaction():
        store.state.set(state.DEVICE_TOKEN, answer["device_token"])
        store.state.set(state.OFFLINE_TTL, int(answer["offline_ttl_seconds"]))


def register(group: click.Group) -> None:
    for command in (enrol, sign_in, passphrase, erase):
        group.add_command(command)

"""`sign-in`: an enrolled device whose token expired signs in again, keeping its cases and unsent work.

Without it the only way back was `erase` and `enrol`, which destroys whatever was captured offline. The server
answers with a new token for the same device (POST /api/devices/<id>/renew, the same shape as enrolment).
"""

from __future__ import annotations

from typing import Any

import click

from field_client import cli_common, state
from field_client.cli_common import CliFailure, Env, secret, shown
from field_client.store import Store
from field_client.transport import Transport, TransportError
from sync.errors import DeviceRevoked


@click.command("sign-in")
@click.option("--username", required=True, help="Your server username (the officer this device belongs to).")
@click.pass_obj
def sign_in(env: Env, username: str) -> None:
    """Sign this device in again after its sign-in expired (password: prompted or env CME_FIELD_PASSWORD).

    Cases held and work not yet sent are kept; run `cme-field sync` afterwards."""
    store = env.store()
    device_id = store.state.get(state.DEVICE_ID)
    # The URL was vetted (https, or http to loopback) at enrolment; no token: the old one is what expired.
    transport = Transport(store.state.get(state.SERVER_URL), session=cli_common.make_session(),
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
    group.add_command(sign_in)

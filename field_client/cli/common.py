"""What every `cme-field` command shares: where the store is, how it is unlocked, and how errors are shown.

Automation (tests, scripts) sets these instead of answering prompts:
    CME_FIELD_HOME            store directory (default ~/.cme-field); `--store DIR` wins
    CME_FIELD_PASSPHRASE      the store passphrase (otherwise prompted, hidden)
    CME_FIELD_NEW_PASSPHRASE  the new passphrase for `passphrase`
    CME_FIELD_PASSWORD        the officer's server password for `enrol` and `sign-in`
    CME_FIELD_KDF_N           scrypt cost for a new store (tests only; the default is strong)
Every failure is one line on stderr and a non-zero exit status; never a traceback.
"""

from __future__ import annotations

import os
import sys
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import requests
from rich.console import Console
from rich.markup import escape

from field_client import state
from field_client.capture import CaptureError
from field_client.engine import SyncEngine
from field_client.store import Store, StoreError, StoreNotFound
from field_client.transport import Transport, TransportError
from sync.errors import DeviceLocked, DeviceRevoked, SyncError
from sync.text import ALLOWED_FORMAT

EXIT_FAILURE, EXIT_LOCKED, EXIT_REVOKED, EXIT_OFFLINE = 1, 3, 4, 5


class CliFailure(click.ClickException):
    """Printed by click as one "Error: ..." line on stderr."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILURE) -> None:
        super().__init__(" ".join(shown(message).split()))
        self.exit_code = exit_code


def failure_for(exc: BaseException) -> CliFailure:
    """The one-line failure for an exception raised by a command."""
    if isinstance(exc, StoreNotFound):
        return CliFailure(f"{exc}: enrol this device first (cme-field enrol)")
    if isinstance(exc, DeviceRevoked):
        return CliFailure("this device has been revoked by the council; the local store was erased", EXIT_REVOKED)
    if isinstance(exc, DeviceLocked):
        return CliFailure(str(exc), EXIT_LOCKED)
    if isinstance(exc, SyncError):
        detail = exc.detail if exc.detail != exc.title else ""
        return CliFailure(f"{exc.title}: {detail}" if detail else exc.title)
    if isinstance(exc, TransportError):
        return CliFailure(str(exc), EXIT_OFFLINE if exc.retryable else EXIT_FAILURE)
    if isinstance(exc, (StoreError, CaptureError, ValueError, OSError)):
        return CliFailure(str(exc) or type(exc).__name__)
    return CliFailure(f"unexpected {type(exc).__name__}: {exc}")


class FieldGroup(click.Group):
    """Turns every exception into one clear line; set CME_FIELD_DEBUG=1 to see the traceback instead."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            raise click.Abort() from None
        except Exception as exc:  # noqa: BLE001  every failure becomes one line
            if os.environ.get("CME_FIELD_DEBUG"):
                raise
            raise failure_for(exc) from None


@dataclass(frozen=True)
class Seams:
    """What a test replaces, passed to the `cli` group as click's `obj`: the HTTP session transports use."""

    make_session: Callable[[], requests.Session] = requests.Session


def secret(env: str, prompt: str, confirm: bool = False) -> str:
    value = os.environ.get(env)
    if value:
        return value
    return click.prompt(prompt, hide_input=True, confirmation_prompt=confirm)


@dataclass
class Env:
    """Per-invocation context: store location and the store once opened (closed when the command ends)."""

    home: Path
    kdf_n: int | None
    make_session: Callable[[], requests.Session] = requests.Session
    _store: Store | None = field(default=None, repr=False)

    def store(self) -> Store:
        if self._store is None:
            if not Store.exists(self.home):
                raise StoreNotFound(f"no store at {self.home}")
            self._store = Store.open(self.home, secret("CME_FIELD_PASSPHRASE", "Store passphrase"))
        return self._store

    def engine(self, online: bool = False) -> SyncEngine:
        store = self.store()
        transport = None
        if online:
            # The URL was vetted (https, or http to loopback) at enrolment.
            transport = Transport(store.state.get(state.SERVER_URL), store.state.get(state.DEVICE_TOKEN),
                                  session=self.make_session(), allow_insecure=True)
        return SyncEngine(store, transport)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


# Characters that act on a terminal or hide/reorder text (controls, surrogates, format characters such as bidi
# overrides, line separators). Joiners stay: names in some scripts need them (see sync.text).
_UNSAFE = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def _visible(ch: str) -> str:
    if ch in "\t\n\r":
        return " "  # a line break in data must not forge a line of the output
    if ch in ALLOWED_FORMAT or unicodedata.category(ch) not in _UNSAFE:
        return ch
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def shown(value: Any, *, markup: bool = False) -> str:
    """Any data as text safe to print: what came from a referrer, the server or another officer can neither
    drive the terminal (ESC, BEL, OSC titles), reorder what is read (bidi overrides) nor break the layout;
    such characters are printed as escapes (\\x1b). `markup=True` also escapes rich markup ("[/]") for tables."""
    text = "".join(_visible(ch) for ch in ("" if value is None else str(value)))
    return escape(text) if markup else text


def console(stderr: bool = False) -> Console:
    """Rich output; wide when not a terminal so tables stay readable in logs and tests. Cells must be `shown(...,
    markup=True)`; emoji codes (":warning:") in data are not rendered."""
    stream = sys.stderr if stderr else sys.stdout
    return Console(file=stream, width=None if stream.isatty() else 160, highlight=False, emoji=False)


def address_text(address: dict[str, Any] | None) -> str:
    if not address:
        return "-"
    return ", ".join(part for part in (address.get(k) for k in ("line1", "line2", "town", "postcode")) if part)


def child_name(snapshot: dict[str, Any]) -> str:
    child = snapshot.get("child") or {}
    name = f"{child.get('first_name', '')} {child.get('last_name', '')}".strip()
    preferred = child.get("preferred_name")
    return f"{name} ({preferred})" if preferred else name


def address_option_values(line1: str | None, line2: str | None, town: str | None,
                          postcode: str | None) -> dict[str, Any] | None:
    if not any((line1, line2, town, postcode)):
        return None
    return {k: v for k, v in (("line1", line1), ("line2", line2), ("town", town), ("postcode", postcode)) if v}


def address_options(func: Any) -> Any:
    """--new-line1/--new-line2/--new-town/--new-postcode, for a new address found on a visit or check."""
    for name in ("postcode", "town", "line2", "line1"):
        func = click.option(f"--new-{name}", f"new_{name}", default=None, help=f"New address: {name}")(func)
    return func

"""Capture commands, offline: `visit`, `address-check`, `photo`, `acknowledge`, `change`.

Each is judged by the same rules the server applies (`sync.ops.validate_payload`) before anything is queued;
a refused capture names every problem and leaves nothing behind. A visit with photos is all-or-nothing.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any

import click

from field_client.cli.common import CliFailure, Env, address_option_values, address_options
from sync.ops import PHOTO_CONTENT_TYPES
from sync.vocabulary import AddressCheckResult, AddressCheckSource, VisitOutcome

_CONTENT_TYPES = click.Choice(sorted(PHOTO_CONTENT_TYPES))
_PHOTO_PATH = click.Path(exists=True, dir_okay=False, path_type=Path)


def _choice(enum: type) -> click.Choice:
    return click.Choice([member.value for member in enum])


def content_type_for(path: Path, given: str | None) -> str:
    if given:
        return given
    guessed = mimetypes.guess_type(path.name)[0]
    if path.suffix.lower() == ".heic":
        guessed = "image/heic"
    if guessed not in PHOTO_CONTENT_TYPES:
        raise CliFailure(f"cannot tell the type of {path.name}: give --content-type")
    return guessed


@click.command()
@click.argument("case_id", type=int)
@click.option("--outcome", required=True, type=_choice(VisitOutcome))
@click.option("--visited-at", default=None, help="ISO 8601 time with offset (default: now).")
@click.option("--notes", default=None)
@click.option("--notice-left/--no-notice-left", default=None, help="Whether a notice was left at the address.")
@click.option("--person-spoken-to", default=None)
@address_options
@click.option("--photo", "photo_paths", multiple=True, type=_PHOTO_PATH, help="Photo to attach (repeatable).")
@click.option("--content-type", type=_CONTENT_TYPES, default=None, help="Type of the photos (default: guessed).")
@click.option("--caption", default=None, help="Caption for the photos.")
@click.pass_obj
def visit(env: Env, case_id: int, outcome: str, visited_at: str | None, notes: str | None,
          notice_left: bool | None, person_spoken_to: str | None, new_line1: str | None, new_line2: str | None,
          new_town: str | None, new_postcode: str | None, photo_paths: tuple[Path, ...],
          content_type: str | None, caption: str | None) -> None:
    """Record a home visit (and attach photos of notices or letters left)."""
    engine = env.engine()
    kinds = [content_type_for(path, content_type) for path in photo_paths]
    with engine.store.transaction():  # the visit and its photos, or nothing
        op_id = engine.capture.record_visit(
            case_id, outcome, visited_at=visited_at, notes=notes, notice_left=notice_left,
            person_spoken_to=person_spoken_to,
            new_address=address_option_values(new_line1, new_line2, new_town, new_postcode))
        photo_ops = [engine.capture.add_photo(op_id, path, kind, caption=caption)
                     for path, kind in zip(photo_paths, kinds)]
    click.echo(f"Visit recorded: {op_id}")
    for photo_op in photo_ops:
        click.echo(f"Photo stored (encrypted): {photo_op}")


@click.command("address-check")
@click.argument("case_id", type=int)
@click.option("--source", required=True, type=_choice(AddressCheckSource))
@click.option("--result", required=True, type=_choice(AddressCheckResult))
@click.option("--notes", default=None)
@address_options
@click.pass_obj
def address_check(env: Env, case_id: int, source: str, result: str, notes: str | None, new_line1: str | None,
                  new_line2: str | None, new_town: str | None, new_postcode: str | None) -> None:
    """Record an address check with a housing provider, council tax, the electoral register, ..."""
    op_id = env.engine().capture.record_address_check(
        case_id, source, result, notes=notes,
        new_address=address_option_values(new_line1, new_line2, new_town, new_postcode))
    click.echo(f"Address check recorded: {op_id}")


@click.command()
@click.argument("visit_op_id")
@click.argument("path", type=_PHOTO_PATH)
@click.option("--content-type", type=_CONTENT_TYPES, default=None, help="Default: guessed from the file name.")
@click.option("--caption", default=None)
@click.pass_obj
def photo(env: Env, visit_op_id: str, path: Path, content_type: str | None, caption: str | None) -> None:
    """Attach a photo to a visit recorded on this device (stored encrypted; delete your own copy)."""
    op_id = env.engine().capture.add_photo(visit_op_id, path, content_type_for(path, content_type), caption=caption)
    click.echo(f"Photo stored (encrypted): {op_id}")


@click.command()
@click.argument("case_id", type=int)
@click.pass_obj
def acknowledge(env: Env, case_id: int) -> None:
    """Acknowledge the assignment of a case to you."""
    click.echo(f"Acknowledgement recorded: {env.engine().capture.acknowledge_assignment(case_id)}")


@click.command()
@click.argument("case_id", type=int)
@click.option("--contact-phone", default=None)
@click.option("--contact-email", default=None)
@click.option("--carer", "carer_values", multiple=True, metavar="ID.FIELD=VALUE",
              help="A carer's phone or email, e.g. --carer 12.phone=07700900123 (repeatable).")
@address_options
@click.pass_obj
def change(env: Env, case_id: int, contact_phone: str | None, contact_email: str | None,
           carer_values: tuple[str, ...], new_line1: str | None, new_line2: str | None, new_town: str | None,
           new_postcode: str | None) -> None:
    """Propose corrected contact details or address for a case (a supervisor reviews conflicts)."""
    changes: dict[str, Any] = {}
    if contact_phone:
        changes["contact_phone"] = contact_phone
    if contact_email:
        changes["contact_email"] = contact_email
    address = address_option_values(new_line1, new_line2, new_town, new_postcode)
    if address:
        changes["current_address"] = address
    for text in carer_values:
        path, sep, value = text.partition("=")
        if not sep:
            raise click.BadParameter(f"{text!r} is not ID.FIELD=VALUE", param_hint="--carer")
        changes[f"carers.{path}"] = value
    if not changes:
        raise click.UsageError("nothing to change: give at least one option")
    click.echo(f"Change proposed: {env.engine().capture.propose_change(case_id, changes)}")


def register(group: click.Group) -> None:
    for command in (visit, address_check, photo, acknowledge, change):
        group.add_command(command)

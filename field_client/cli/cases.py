"""Read-only commands: `cases`, `show` (refused while the device is locked)."""

from __future__ import annotations

from typing import Any

import click
from rich.table import Table

from field_client.cli.common import CliFailure, Env, address_text, child_name, console, shown


def _due(snapshot: dict[str, Any]) -> str:
    return (snapshot.get("assignment") or {}).get("due") or ""


@click.command()
@click.pass_obj
def cases(env: Env) -> None:
    """Assigned cases: reference, child, address, status, visit due."""
    engine = env.engine()
    held = sorted(engine.cases(), key=lambda s: (_due(s) or "9999", s.get("reference", "")))
    leaving = set(engine.holdings.leaving())
    table = Table("Case", "Reference", "Name", "Address", "Status", "Due")
    for snapshot in held:
        status = snapshot.get("status", "") + (" (leaving: unsent work)" if snapshot["id"] in leaving else "")
        cells = (snapshot["id"], snapshot.get("reference", ""), child_name(snapshot),
                 address_text(snapshot.get("current_address")), status, _due(snapshot) or "-")
        table.add_row(*(shown(cell, markup=True) for cell in cells))
    if not held:
        click.echo("No cases on this device. Run `cme-field sync` to receive your assignments.")
        return
    console().print(table)


def _flags(snapshot: dict[str, Any]) -> str:
    safeguarding = snapshot.get("safeguarding") or {}
    names = {"cp": "child protection plan", "cin": "child in need", "cic": "child in care"}
    return ", ".join(label for key, label in names.items() if safeguarding.get(key)) or "none recorded"


def _show_lines(snapshot: dict[str, Any]) -> list[tuple[str, str]]:
    child = snapshot.get("child") or {}
    assignment = snapshot.get("assignment") or {}
    school = snapshot.get("last_school") or {}
    lines = [("Case", f"{snapshot['id']} {snapshot.get('reference', '')} (version {snapshot.get('version')})"),
             ("Status", snapshot.get("status", "")), ("Child", child_name(snapshot)),
             ("Date of birth", child.get("dob") or "-"), ("Gender", child.get("gender") or "-"),
             ("Address", address_text(snapshot.get("current_address"))),
             ("Phone", snapshot.get("contact_phone") or "-"), ("Email", snapshot.get("contact_email") or "-"),
             ("Safeguarding", _flags(snapshot)),
             ("Last school", f"{school.get('name')} (off roll {school.get('off_roll') or '-'})" if school else "-"),
             ("Visit due", assignment.get("due") or "-"),
             ("Acknowledged", "yes" if assignment.get("acknowledged") else "no")]
    if assignment.get("instructions"):
        lines.append(("Instructions", assignment["instructions"]))
    for carer in snapshot.get("carers") or []:
        pr = ", parental responsibility" if carer.get("parental_responsibility") else ""
        contact = " ".join(v for v in (carer.get("phone"), carer.get("email")) if v)
        lines.append((f"Carer {carer['id']}", f"{carer['name']} ({carer.get('relationship') or '-'}{pr}) {contact}"))
    for enquiry in snapshot.get("recent_enquiries") or []:
        text = " ".join(v for v in (enquiry.get("outcome"), enquiry.get("summary")) if v)
        lines.append(("Enquiry", f"{enquiry['at'][:16]} {enquiry['kind']} {text}"))
    return lines


@click.command()
@click.argument("case_id", type=int)
@click.pass_obj
def show(env: Env, case_id: int) -> None:
    """One case in full, with anything not yet sent for it."""
    engine = env.engine()
    snapshot = engine.case(case_id)
    if snapshot is None:
        raise CliFailure(f"case {case_id} is not on this device")
    for label, value in _show_lines(snapshot):
        click.echo(shown(f"{label + ':':<16}{value}"))
    if case_id in engine.holdings.leaving():
        click.echo("This case has left your caseload; it will be removed once your work on it is sent.")
    for item in engine.store.outbox.for_case(str(case_id)):
        click.echo(shown(f"{'Not sent yet:':<16}{item.kind} {item.op_id} (recorded {item.created_at[:16]})"))


def register(group: click.Group) -> None:
    for command in (cases, show):
        group.add_command(command)

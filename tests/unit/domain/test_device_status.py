"""One device-status enum (server/domain/devices.py): no device state is spelt as a string anywhere else, so a
renamed or added state cannot be missed in one of the places that judge it."""
from __future__ import annotations

import ast
from pathlib import Path

from server.domain.access import SYSTEM
from server.domain.devices import MUST_ERASE, DeviceStatus

SERVER = Path(__file__).resolve().parents[3] / "server"
STATES = {s.value for s in DeviceStatus}
STATUS_NAMES = {"status", "device_status"}


def _names_status(node: ast.AST) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr in STATUS_NAMES) or (
        isinstance(node, ast.Name) and node.id in STATUS_NAMES)


def _state_literals(node: ast.AST) -> list[str]:
    return [n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and n.value in STATES]


def device_state_literals(tree: ast.AST) -> list[tuple[int, str]]:
    """Device states spelt as strings where a status is compared, assigned or passed as `status=`."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and any(map(_names_status, [node.left, *node.comparators])):
            found += [(node.lineno, s) for s in _state_literals(node)]
        elif isinstance(node, ast.keyword) and node.arg in STATUS_NAMES:
            found += [(node.value.lineno, s) for s in _state_literals(node.value)]
        elif isinstance(node, ast.Assign) and any(map(_names_status, node.targets)):
            found += [(node.lineno, s) for s in _state_literals(node.value)]
        elif isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == "_set_status":
            found += [(node.lineno, s) for s in _state_literals(node)]
    return found


def test_device_states_are_spelt_only_by_the_enum():
    offenders = []
    for path in SERVER.rglob("*.py"):
        if "migrations" in path.parts or path.name == "devices.py" and path.parent.name == "domain":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        where = path.relative_to(SERVER.parent)
        offenders += [f"{where}:{line} {state!r}" for line, state in device_state_literals(tree)]
    assert offenders == []


def test_the_scan_catches_a_string_state():
    code = 'if device.status in ("revoked", "wiped"):\n    device.status = "wiped"\nDevice(status="active")\n'
    assert sorted(s for _, s in device_state_literals(ast.parse(code))) == ["active", "revoked", "wiped", "wiped"]


def test_device_states_and_the_ones_that_erase():
    assert [s.value for s in DeviceStatus] == ["active", "revoked", "retired", "wiped"]
    assert MUST_ERASE == {DeviceStatus.REVOKED, DeviceStatus.WIPED}
    assert DeviceStatus("retired") == "retired"  # compares with the stored text
    assert SYSTEM.device_status is None

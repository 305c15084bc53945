"""Field devices as the register sees them: the states a device moves through (DESIGN.md principle 10)."""
from __future__ import annotations

from enum import StrEnum


class DeviceStatus(StrEnum):
    """active → revoked (wipe at next contact), or active → retired (push everything, goodbye) → wiped."""

    ACTIVE = "active"
    REVOKED = "revoked"
    RETIRED = "retired"
    WIPED = "wiped"


# A device in one of these states is told "device-revoked" at every contact, so it erases itself even if it
# missed the first answer (a wiped device that died before erasing, principle 10).
MUST_ERASE = frozenset({DeviceStatus.REVOKED, DeviceStatus.WIPED})

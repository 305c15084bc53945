"""Who may do what. Per-object rules (an officer sees only assigned cases) are checked by the service layer."""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sync.conflicts import is_editable
from .devices import DeviceStatus
from .errors import Forbidden
from .vocabulary import Role


@dataclass(frozen=True)
class Actor:
    user_id: int | None  # None only for SYSTEM
    role: Role
    device_id: int | None = None
    device_status: DeviceStatus | None = None  # active or retired; revoked devices never get this far
    # False only for the retired device of a disabled account: it may still hand in what it holds (push, uploads,
    # goodbye) so that nothing captured is lost, but what it pushes is kept for review, not applied.
    account_active: bool = True

    @property
    def is_system(self) -> bool:
        return self.user_id is None


# Work no person asked for at that moment (command-line loads, scheduled jobs, demo seeding): it may do what an
# admin may, and the audit log names no user for it (actor "system") rather than an admin who did nothing.
SYSTEM = Actor(user_id=None, role=Role.ADMIN)


class Permission(StrEnum):
    READ_CASE = "read_case"
    CREATE_CASE = "create_case"
    UPDATE_CASE = "update_case"
    TRANSITION_CASE = "transition_case"
    SUBMIT_REFERRAL = "submit_referral"
    RECORD_ENQUIRY = "record_enquiry"
    HANDLE_ACTIONS = "handle_actions"
    MANAGE_ASSIGNMENTS = "manage_assignments"
    READ_ASSIGNMENTS = "read_assignments"
    LOAD_TERM_DATES = "load_term_dates"
    READ_CALENDAR = "read_calendar"
    MANAGE_USERS = "manage_users"
    READ_AUDIT = "read_audit"
    SYNC = "sync"
    MANAGE_DEVICES = "manage_devices"
    REVIEW = "review"


R = Role
GRANTS: dict[Permission, frozenset[Role]] = {
    Permission.READ_CASE: frozenset({R.OFFICER, R.SUPERVISOR, R.ADMIN, R.INTEGRATION}),
    Permission.CREATE_CASE: frozenset({R.SUPERVISOR, R.ADMIN}),
    Permission.UPDATE_CASE: frozenset({R.OFFICER, R.SUPERVISOR, R.ADMIN}),
    Permission.TRANSITION_CASE: frozenset({R.SUPERVISOR, R.ADMIN}),
    Permission.SUBMIT_REFERRAL: frozenset({R.REFERRER, R.OFFICER, R.SUPERVISOR, R.ADMIN}),
    Permission.RECORD_ENQUIRY: frozenset({R.OFFICER, R.SUPERVISOR, R.ADMIN}),
    Permission.HANDLE_ACTIONS: frozenset({R.OFFICER, R.SUPERVISOR, R.ADMIN}),
    Permission.MANAGE_ASSIGNMENTS: frozenset({R.SUPERVISOR, R.ADMIN}),
    Permission.READ_ASSIGNMENTS: frozenset({R.OFFICER, R.SUPERVISOR, R.ADMIN}),
    Permission.LOAD_TERM_DATES: frozenset({R.ADMIN}),
    Permission.READ_CALENDAR: frozenset({R.OFFICER, R.SUPERVISOR, R.ADMIN, R.INTEGRATION, R.REFERRER}),
    Permission.MANAGE_USERS: frozenset({R.ADMIN}),
    Permission.READ_AUDIT: frozenset({R.SUPERVISOR, R.ADMIN}),
    Permission.SYNC: frozenset({R.OFFICER}),
    Permission.MANAGE_DEVICES: frozenset({R.SUPERVISOR, R.ADMIN}),
    Permission.REVIEW: frozenset({R.SUPERVISOR, R.ADMIN}),
}

# Roles that see the whole register; an officer sees only the cases assigned to them.
WHOLE_REGISTER = frozenset({R.SUPERVISOR, R.ADMIN, R.INTEGRATION})


def require(actor: Actor, permission: Permission) -> None:
    if actor.role not in GRANTS[permission]:
        raise Forbidden(f"the {actor.role.value} role may not {permission.value.replace('_', ' ')}",
                        rule=f"role:{permission.value}")


def sees_whole_register(actor: Actor) -> bool:
    return actor.role in WHOLE_REGISTER


# Safeguarding flags and the statutory dates that drive deadlines (§11.2, §13.4, §6.8, §8.1) and the child's age:
# a wrong value silently moves or hides a deadline or an alert, so only a supervisor (the CME lead) changes them.
SUPERVISOR_ONLY_FIELDS = frozenset({
    "cp", "cin", "cic", "dob", "first_day_of_absence", "on_roll_date", "off_roll_date", "referral_accepted_on",
    "place_offered_on", "place_accepted_on", "exclusion_start",
})


def require_field_authority(actor: Actor, paths) -> None:
    """Who may change which case fields, wherever the change comes from (PATCH or a sync field edit).

    An officer may change only what a field device may propose (the sync allow-list, `sync.conflicts`);
    safeguarding and statutory fields change only by a supervisor. 403 names the first field refused."""
    for path in sorted(paths):
        if actor.role == R.OFFICER and not is_editable(path):
            raise Forbidden(f"an attendance officer may not change {path}: propose it to a supervisor",
                            rule="field-edit:allow-list", field=path)
        if path in SUPERVISOR_ONLY_FIELDS and actor.role != R.SUPERVISOR:
            raise Forbidden(f"only a supervisor may change {path} (a safeguarding or statutory field)",
                            rule="field-edit:supervisor-only", field=path)

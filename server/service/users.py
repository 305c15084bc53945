"""User accounts; an admin creates them."""
from __future__ import annotations

from ..adapters.access_models import User
from ..domain.access import Actor, Permission, require
from ..domain.errors import Conflict, InvalidInput, NotFound, Unauthenticated
from ..domain.vocabulary import Role
from .clock import utcnow
from . import audit
from .security import authenticate, hash_password, login, token_digest

MIN_PASSWORD = 12


def _checked_password(password: str, field: str = "password") -> str:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"passwords are at least {MIN_PASSWORD} characters", field=field)
    return password


def add_user(uow, actor: Actor, username: str, display_name: str, role: Role, password: str) -> User:
    """Create a user (the CLI and the demo seeding act as the SYSTEM actor)."""
    require(actor, Permission.MANAGE_USERS)
    password_hash = hash_password(_checked_password(password))
    if uow.accounts.username_taken(username):
        raise Conflict(f"username {username!r} is taken", field="username")
    return uow.accounts.add(User(username=username, display_name=display_name, role=role.value,
                                 password_hash=password_hash, active=True, created_at=utcnow()))


def create_user(uow, actor: Actor, data: dict) -> dict:
    return user_view(add_user(uow, actor, data["username"], data["display_name"], Role(data["role"]),
                              data["password"]))


def list_users(uow, actor: Actor, role: str | None = None) -> list[dict]:
    if actor.role == Role.SUPERVISOR:  # supervisors pick officers to assign visits to
        role = Role.OFFICER.value
    else:
        require(actor, Permission.MANAGE_USERS)
    return [user_view(u) for u in uow.accounts.listing(role)]


def set_active(uow, actor: Actor, user_id: int, active: bool) -> dict:
    require(actor, Permission.MANAGE_USERS)
    user = uow.accounts.get(user_id)
    if user is None:
        raise NotFound(f"no user {user_id}")
    user.active = active
    if not active:  # its sign-in tokens die for good: re-enabling the account must not revive them
        revoke_sign_in_tokens(uow, user.id)
        retire_devices_of(uow, actor, user.id)
    return user_view(user)


def retire_devices_of(uow, actor: Actor, officer_id: int) -> None:
    """The leaver process: each active device of the account is retired, so at its next contact it pushes what
    it holds (kept for review, see `op_apply`), says goodbye and erases its store. Nothing captured is lost and
    no case data stays on a leaver's device."""
    uow.accounts.retire_devices(officer_id, utcnow(), actor.user_id)


def revoke_sign_in_tokens(uow, user_id: int, *, keep: int | None = None) -> None:
    """Revoke the user's sign-in tokens (not device tokens: devices are controlled by revoke and retire),
    except the one with id `keep`."""
    uow.accounts.revoke_sign_in_tokens(user_id, utcnow(), keep=keep)


def own_username(uow, actor: Actor) -> str:
    """The signed-in user's username (the first step of a password change, see `change_password`)."""
    return uow.accounts.get(actor.user_id).username


def change_password(uow, token: str, username: str, current: str, new: str) -> bool:
    """A user changes their own password: the current one is checked (throttled like a sign-in, and first:
    `security.login` needs a session that has not written yet), then the token is checked to be still theirs.
    Every other sign-in token of theirs is revoked (a session left open elsewhere, or taken, ends); this one
    stays valid. False when the current password is wrong (the failed attempt is kept)."""
    _checked_password(new, "new_password")
    user = login(uow, username, current)
    if user is None:
        return False
    actor = authenticate(uow, token)
    if actor.user_id != user.id or actor.device_id is not None:
        raise Unauthenticated("the token is unknown, expired or revoked")
    user.password_hash = hash_password(new)
    this = uow.accounts.token_id(token_digest(token))
    revoke_sign_in_tokens(uow, user.id, keep=this)
    audit.record(uow, actor, "user.password_change", None, f"user:{user.id}")
    return True


def reset_password(uow, actor: Actor, user_id: int, password: str) -> None:
    """An admin sets a new password for someone who lost theirs; all their sign-in tokens are revoked."""
    require(actor, Permission.MANAGE_USERS)
    user = uow.accounts.get(user_id)
    if user is None:
        raise NotFound(f"no user {user_id}")
    user.password_hash = hash_password(_checked_password(password))
    revoke_sign_in_tokens(uow, user.id)
    audit.record(uow, actor, "user.password_reset", None, f"user:{user.id}")


def user_view(u: User) -> dict:
    return {"id": u.id, "username": u.username, "display_name": u.display_name, "role": u.role,
            "active": u.active, "created_at": u.created_at}

"""User accounts; an admin creates them."""
from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..adapters.access_models import ApiToken, User
from ..domain.access import Actor, Permission, require
from ..domain.errors import Conflict, InvalidInput, NotFound
from ..domain.vocabulary import Role
from .clock import utcnow
from .security import hash_password

MIN_PASSWORD = 12


def add_user(session: Session, username: str, display_name: str, role: Role, password: str) -> User:
    """Create a user (also used by the CLI, which needs no actor)."""
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"passwords are at least {MIN_PASSWORD} characters", field="password")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"username {username!r} is taken", field="username")
    user = User(username=username, display_name=display_name, role=role.value,
                password_hash=hash_password(password), active=True, created_at=utcnow())
    session.add(user)
    session.flush()
    return user


def create_user(session: Session, actor: Actor, data: dict) -> dict:
    require(actor, Permission.MANAGE_USERS)
    return user_view(add_user(session, data["username"], data["display_name"], Role(data["role"]),
                              data["password"]))


def list_users(session: Session, actor: Actor, role: str | None = None) -> list[dict]:
    if actor.role == Role.SUPERVISOR:  # supervisors pick officers to assign visits to
        role = Role.OFFICER.value
    else:
        require(actor, Permission.MANAGE_USERS)
    stmt = select(User).order_by(User.id)
    if role:
        stmt = stmt.where(User.role == role)
    return [user_view(u) for u in session.scalars(stmt)]


def set_active(session: Session, actor: Actor, user_id: int, active: bool) -> dict:
    require(actor, Permission.MANAGE_USERS)
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}")
    user.active = active
    if not active:  # its sign-in tokens die for good: re-enabling the account must not revive them
        session.execute(update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.device_id.is_(None),
                                               ApiToken.revoked_at.is_(None)).values(revoked_at=utcnow()))
    return user_view(user)


def user_view(u: User) -> dict:
    return {"id": u.id, "username": u.username, "display_name": u.display_name, "role": u.role,
            "active": u.active, "created_at": u.created_at}

"""Sign-in: Argon2id password hashes, opaque tokens stored hashed, expiry, revocation and login throttling."""
from __future__ import annotations

import hashlib
import math
import secrets
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..adapters.access_models import ApiToken, LoginAttempt, User
from ..domain.access import Actor
from ..domain.errors import TooManyAttempts, Unauthenticated
from ..domain.vocabulary import Role
from sync.errors import DeviceRevoked
from .clock import as_utc, utcnow

_hasher = PasswordHasher()  # Argon2id, library defaults (memory-hard, 64 MiB)
_DUMMY_HASH = _hasher.hash("not a real password")

TOKEN_TTL = timedelta(hours=12)
LOGIN_WINDOW = timedelta(minutes=15)
LOGIN_MAX_FAILURES = 5  # per username within the window
LOGIN_MAX_FAILURES_PER_ADDRESS = 20  # per client address within the window: password spraying over many usernames

# The address of the client signing in, set by the API layer for the request; None outside one (the CLI).
client_address: ContextVar[str | None] = ContextVar("client_address", default=None)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _password_matches(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: datetime
    user: User


def issue_token(session: Session, user: User, *, ttl: timedelta = TOKEN_TTL,
                device_id: int | None = None) -> IssuedToken:
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(ApiToken(user_id=user.id, token_hash=token_digest(token), device_id=device_id,
                         created_at=now, expires_at=now + ttl))
    return IssuedToken(token, now + ttl, user)


def login(session: Session, username: str, password: str, *, max_failures: int = LOGIN_MAX_FAILURES,
          max_address_failures: int = LOGIN_MAX_FAILURES_PER_ADDRESS, address: str | None = None) -> User | None:
    """Check a password and record the attempt; None when wrong (the caller commits the attempt, then refuses).

    After too many recent failures for a username, or from one client address (password spraying: a guess or two
    at many usernames), even the right password is refused for a while. `address` defaults to the request's."""
    now = utcnow()
    address = (address or client_address.get() or "")[:64] or None
    _throttle(session, LoginAttempt.username == username, max_failures, now,
              "too many failed sign-ins for this account; try again later")
    if address is not None:
        _throttle(session, LoginAttempt.address == address, max_address_failures, now,
                  "too many failed sign-ins from this address; try again later")
    user = session.scalar(select(User).where(User.username == username))
    # Verify against a dummy hash for unknown users so timing does not reveal which usernames exist.
    ok = _password_matches(user.password_hash if user else _DUMMY_HASH, password)
    ok = ok and user is not None and user.active
    session.add(LoginAttempt(username=username[:80], address=address, at=now, success=ok))
    return user if ok else None


def _throttle(session: Session, who, limit: int, now: datetime, message: str) -> None:
    """429 while `limit` or more sign-ins matching `who` failed within the window. The lock lifts when the
    limit-th newest of those failures leaves the window: that is the Retry-After."""
    failed_at = session.scalar(select(LoginAttempt.at).where(
        who, LoginAttempt.success.is_(False), LoginAttempt.at > now - LOGIN_WINDOW)
        .order_by(LoginAttempt.at.desc()).offset(limit - 1).limit(1))
    if failed_at is not None:
        wait = (as_utc(failed_at) + LOGIN_WINDOW - now).total_seconds()
        raise TooManyAttempts(message, retry_after=max(1, math.ceil(wait)))


def authenticate(session: Session, token: str | None) -> Actor:
    """Resolve a bearer token to an actor; every request goes through here."""
    if not token:
        raise Unauthenticated("send Authorization: Bearer <token>")
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_digest(token)))
    if row is None or row.revoked_at is not None or as_utc(row.expires_at) <= utcnow():
        raise Unauthenticated("the token is unknown, expired or revoked")
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        raise Unauthenticated("the account is disabled")
    status = _device_status(session, row.device_id) if row.device_id is not None else None
    return Actor(user_id=user.id, role=Role(user.role), device_id=row.device_id, device_status=status)


def _device_status(session: Session, device_id: int) -> str:
    """A revoked device is told so on its next contact, so that it erases itself (principle 10)."""
    from ..adapters.sync_models import Device  # local: devices are a sync concern

    device = session.get(Device, device_id)
    if device is None or device.status in ("revoked", "wiped"):
        raise DeviceRevoked("this device has been revoked; erase its data")
    return device.status


def revoke_token(session: Session, token: str) -> None:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_digest(token)))
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()


def sign_in(session: Session, username: str, password: str) -> IssuedToken | None:
    user = login(session, username, password)
    return issue_token(session, user) if user else None

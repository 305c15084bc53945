"""Sign-in: Argon2id password hashes, opaque tokens stored hashed, expiry, revocation and login throttling."""
from __future__ import annotations

import hashlib
import math
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from ..adapters.access_models import ApiToken, User
from ..domain.access import Actor
from ..domain.devices import MUST_ERASE, DeviceStatus
from ..domain.errors import Busy, TooManyAttempts, Unauthenticated
from ..domain.vocabulary import Role
from sync.errors import DeviceRevoked
from .clock import as_utc, utcnow

_hasher = PasswordHasher()  # Argon2id, library defaults (memory-hard, 64 MiB)
_DUMMY_HASH = _hasher.hash("not a real password")

TOKEN_TTL = timedelta(hours=12)
LOGIN_WINDOW = timedelta(minutes=15)
LOGIN_MAX_FAILURES = 5  # per username within the window
LOGIN_MAX_FAILURES_PER_ADDRESS = 20  # per client address within the window: password spraying over many usernames

# Argon2 runs at once per process (64 MiB each), and how long a sign-in waits for one before a 503.
HASH_CONCURRENCY = 2
HASH_WAIT_SECONDS = 5.0
_hashing = threading.BoundedSemaphore(HASH_CONCURRENCY)

# The address of the client signing in, set by the API layer for the request; None outside one (the CLI).
client_address: ContextVar[str | None] = ContextVar("client_address", default=None)


def hash_password(password: str) -> str:
    with _hashing_slot():
        return _hasher.hash(password)


def _password_matches(stored: str, password: str) -> bool:
    with _hashing_slot():
        try:
            return _hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False


@contextmanager
def _hashing_slot() -> Iterator[None]:
    """Each Argon2 run holds 64 MiB: at most HASH_CONCURRENCY at once per process, so a burst of sign-ins
    queues briefly and is then refused (503) instead of growing memory without bound."""
    if not _hashing.acquire(timeout=HASH_WAIT_SECONDS):
        raise Busy("the server is checking many sign-ins at once; try again shortly", retry_after=2)
    try:
        yield
    finally:
        _hashing.release()


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: datetime
    user: User


def issue_token(uow, user: User, *, ttl: timedelta = TOKEN_TTL, device_id: int | None = None) -> IssuedToken:
    token = secrets.token_urlsafe(32)
    now = utcnow()
    uow.accounts.add_token(ApiToken(user_id=user.id, token_hash=token_digest(token), device_id=device_id,
                                    created_at=now, expires_at=now + ttl))
    return IssuedToken(token, now + ttl, user)


def login(uow, username: str, password: str, *, max_failures: int = LOGIN_MAX_FAILURES,
          max_address_failures: int = LOGIN_MAX_FAILURES_PER_ADDRESS, address: str | None = None) -> User | None:
    """Check a password and record the attempt; None when wrong (the caller then refuses).

    After too many recent failures for a username, or from one client address (password spraying: a guess or two
    at many usernames), even the right password is refused for a while. `address` defaults to the request's.
    The attempt is reserved (counted as a failure) in its own short transaction before the password is checked,
    so concurrent guesses cannot all pass the check; a right password then releases it. Call this before
    `uow` has written anything (on SQLite the reservation needs the write lock)."""
    now = utcnow()
    address = (address or client_address.get() or "")[:64] or None
    limits = Limits(max_failures, max_address_failures)
    attempt_id, user_id, stored, active = _reserve(uow.login_attempts, username, address, now, limits)
    try:
        # Unknown users are checked against a dummy hash so timing does not reveal which usernames exist.
        ok = _password_matches(stored or _DUMMY_HASH, password)
    except Busy:
        _settle(uow.login_attempts, attempt_id, None)  # the password was never checked: nothing to count
        raise
    ok = ok and user_id is not None and active
    if not ok:
        return None
    _settle(uow.login_attempts, attempt_id, True)
    return uow.accounts.get(user_id)


@dataclass(frozen=True)
class Limits:
    per_username: int
    per_address: int


def _reserve(attempts, username: str, address: str | None, now: datetime,
             limits: Limits) -> tuple[int, int | None, str | None, bool]:
    """Check both limits and record this attempt as a failure, serialised per username and per address."""
    with attempts.own_transaction() as own:
        own.lock_keys([f"user:{username}"] + ([f"addr:{address}"] if address else []))
        _throttle(own.nth_newest_failure(limits.per_username, now - LOGIN_WINDOW, username=username), now,
                  "too many failed sign-ins for this account; try again later")
        if address is not None:
            _throttle(own.nth_newest_failure(limits.per_address, now - LOGIN_WINDOW, address=address), now,
                      "too many failed sign-ins from this address; try again later")
        attempt_id = own.reserve(username, address, now)
        return (attempt_id, *own.credentials(username))


def _settle(attempts, attempt_id: int, success: bool | None) -> None:
    """Release a reservation: mark it a success, or (None) drop it when the password was never checked."""
    with attempts.own_transaction() as own:
        own.settle(attempt_id, success)


def _throttle(failed_at: datetime | None, now: datetime, message: str) -> None:
    """429 while the limit-th newest failure (or sign-in being checked) is within the window. The lock lifts
    when that failure leaves the window: that is the Retry-After."""
    if failed_at is not None:
        wait = (as_utc(failed_at) + LOGIN_WINDOW - now).total_seconds()
        raise TooManyAttempts(message, retry_after=max(1, math.ceil(wait)))


def authenticate(uow, token: str | None) -> Actor:
    """Resolve a bearer token to an actor; every request goes through here."""
    if not token:
        raise Unauthenticated("send Authorization: Bearer <token>")
    row = uow.accounts.token(token_digest(token))
    if row is None or row.revoked_at is not None or as_utc(row.expires_at) <= utcnow():
        raise Unauthenticated("the token is unknown, expired or revoked")
    # A device is told it is revoked before anything else, so a wiped or revoked device erases itself even when
    # its account has been disabled since.
    status = _device_status(uow, row.device_id) if row.device_id is not None else None
    user = uow.accounts.get(row.user_id)
    if user is None:
        raise Unauthenticated("the account is disabled")
    if not user.active and status != DeviceStatus.RETIRED:
        raise Unauthenticated("the account is disabled")
    # Disabling an account retires its devices (`users.set_active`): such a device may still hand in what it
    # holds, and then erases itself; what it pushes is kept for review (account_active=False).
    return Actor(user_id=user.id, role=Role(user.role), device_id=row.device_id, device_status=status,
                 account_active=user.active)


def _device_status(uow, device_id: int) -> str:
    """A revoked device is told so on its next contact, so that it erases itself (principle 10)."""
    device = uow.devices.get(device_id)
    if device is None or device.status in MUST_ERASE:
        raise DeviceRevoked("this device has been revoked; erase its data")
    return DeviceStatus(device.status)


def revoke_token(uow, token: str) -> None:
    row = uow.accounts.token(token_digest(token))
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()


def sign_in(uow, username: str, password: str) -> IssuedToken | None:
    user = login(uow, username, password)
    return issue_token(uow, user) if user else None


def sign_out(uow, token: str) -> None:
    """Revoke the token the request carries (which must still be valid)."""
    authenticate(uow, token)
    revoke_token(uow, token)

"""Accounts: users, their sign-in tokens, and the devices an account holds (as the leaver process sees them)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ...domain.devices import DeviceStatus
from ..access_models import ApiToken, User
from ..sync_models import Device


class AccountRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, user_id: int) -> User | None:
        return self.session.get(User, user_id)

    def add(self, user: User) -> User:
        self.session.add(user)
        self.session.flush()
        return user

    def username_taken(self, username: str) -> bool:
        return self.session.scalar(select(User.id).where(User.username == username)) is not None

    def listing(self, role: str | None = None) -> list[User]:
        stmt = select(User).order_by(User.id)
        if role:
            stmt = stmt.where(User.role == role)
        return list(self.session.scalars(stmt))

    def any_user(self) -> bool:
        return self.session.scalar(select(User.id).limit(1)) is not None

    def token(self, token_hash: str) -> ApiToken | None:
        return self.session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash))

    def add_token(self, token: ApiToken) -> ApiToken:
        self.session.add(token)
        return token

    def token_id(self, token_hash: str) -> int | None:
        return self.session.scalar(select(ApiToken.id).where(ApiToken.token_hash == token_hash))

    def revoke_sign_in_tokens(self, user_id: int, at: datetime, *, keep: int | None = None) -> None:
        """Sign-in tokens only: device tokens are controlled by revoke and retire."""
        stmt = update(ApiToken).where(ApiToken.user_id == user_id, ApiToken.device_id.is_(None),
                                      ApiToken.revoked_at.is_(None))
        if keep is not None:
            stmt = stmt.where(ApiToken.id != keep)
        self.session.execute(stmt.values(revoked_at=at))

    def retire_devices(self, officer_id: int, at: datetime, by: int | None) -> None:
        self.session.execute(update(Device).where(Device.officer_id == officer_id,
                                                  Device.status == DeviceStatus.ACTIVE)
                             .values(status=DeviceStatus.RETIRED, status_changed_at=at, status_changed_by=by))

"""accounts: alerts about no one case (a device enrolled); devices of accounts disabled earlier are retired

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-14
"""
from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa

from server.adapters.types import UTCDateTime


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('actions', schema=None) as batch_op:
        batch_op.alter_column('case_id', existing_type=BIG_ID, nullable=True)
    # Disabling an account now retires its devices (the leaver process): do the same for accounts disabled
    # before, so their devices hand in their work and erase themselves at their next contact.
    devices = sa.table('devices', sa.column('status', sa.String()), sa.column('officer_id', BIG_ID),
                       sa.column('status_changed_at', UTCDateTime()))
    users = sa.table('users', sa.column('id', BIG_ID), sa.column('active', sa.Boolean()))
    disabled = sa.select(users.c.id).where(users.c.active.is_(False))
    op.execute(devices.update().where(devices.c.status == 'active', devices.c.officer_id.in_(disabled))
               .values(status='retired', status_changed_at=datetime.now(UTC)))


def downgrade() -> None:
    op.execute("DELETE FROM actions WHERE case_id IS NULL")
    with op.batch_alter_table('actions', schema=None) as batch_op:
        batch_op.alter_column('case_id', existing_type=BIG_ID, nullable=False)

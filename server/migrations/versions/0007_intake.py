"""intake: each referral gets a random receipt (CME-XXXX-XXXX) that reveals nothing of the register

Existing referrals get new random receipts. The receipt they were given before was their case's reference, which
stays on the case, so a referrer quoting an old one is still found by reference.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-15
"""
import secrets

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # as server.service.referrals: no 0/O, 1/I/L


def _receipt() -> str:
    chars = "".join(secrets.choice(ALPHABET) for _ in range(8))
    return f"CME-{chars[:4]}-{chars[4:]}"


def upgrade() -> None:
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('receipt', sa.String(length=16), nullable=True))
    referrals = sa.table('referrals', sa.column('id', BIG_ID), sa.column('receipt', sa.String()))
    conn = op.get_bind()
    ids = conn.execute(sa.select(referrals.c.id).where(referrals.c.receipt.is_(None))).scalars().all()
    given: set[str] = set()
    for referral_id in ids:
        receipt = _receipt()
        while receipt in given:
            receipt = _receipt()
        given.add(receipt)
        conn.execute(referrals.update().where(referrals.c.id == referral_id).values(receipt=receipt))
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.alter_column('receipt', existing_type=sa.String(length=16), nullable=False)
        batch_op.create_unique_constraint('uq_referrals_receipt', ['receipt'])


def downgrade() -> None:
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_constraint('uq_referrals_receipt', type_='unique')
        batch_op.drop_column('receipt')

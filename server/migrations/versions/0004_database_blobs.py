"""photo blobs and upload parts held in the database (BLOB_STORE=database)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""
from alembic import op
import sqlalchemy as sa

from server.adapters.types import UTCDateTime


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('blob_objects',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('content_id', sa.String(length=32), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('sha256'),
    sa.UniqueConstraint('content_id')
    )
    op.create_table('blob_chunks',
    sa.Column('content_id', sa.String(length=32), nullable=False),
    sa.Column('idx', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('content_id', 'idx')
    )
    op.create_table('upload_chunks',
    sa.Column('upload_id', sa.String(length=32), nullable=False),
    sa.Column('start', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('upload_id', 'start')
    )


def downgrade() -> None:
    op.drop_table('upload_chunks')
    op.drop_table('blob_chunks')
    op.drop_table('blob_objects')

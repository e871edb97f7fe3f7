"""api clients

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0001'
down_revision: Union[str, None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'api_clients',
        sa.Column('client_id', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('role', sa.String(length=32), nullable=False),
        sa.Column('tenant', sa.String(length=64), nullable=False),
        sa.Column('industries', sa.JSON(), nullable=False),
        sa.Column('scopes', sa.JSON(), nullable=False),
        sa.Column('secret_hash', sa.String(length=200), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('client_id'),
    )
    with op.batch_alter_table('api_clients', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_clients_tenant'), ['tenant'], unique=False)
        batch_op.create_index(batch_op.f('ix_api_clients_revoked_at'), ['revoked_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('api_clients', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_clients_revoked_at'))
        batch_op.drop_index(batch_op.f('ix_api_clients_tenant'))
    op.drop_table('api_clients')

"""oversight facts and fund year totals

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0005'
down_revision: Union[str, None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('oversight_fact',
    sa.Column('fact_key', sa.String(length=160), nullable=False),
    sa.Column('insurer', sa.String(length=64), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('quarter', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.PrimaryKeyConstraint('fact_key')
    )
    with op.batch_alter_table('oversight_fact', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oversight_fact_insurer'), ['insurer'], unique=False)

    op.create_table('oversight_fund_year',
    sa.Column('insurer', sa.String(length=64), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('collected_premium', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('accrued', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('spent', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.PrimaryKeyConstraint('insurer', 'year')
    )


def downgrade() -> None:
    op.drop_table('oversight_fund_year')
    with op.batch_alter_table('oversight_fact', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oversight_fact_insurer'))

    op.drop_table('oversight_fact')

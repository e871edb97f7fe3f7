"""bureau ledger read models (hazards, service records)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0003'
down_revision: Union[str, None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'ledger_hazard',
        sa.Column('hazard_id', sa.String(length=64), nullable=False),
        sa.Column('credit_code', sa.String(length=18), nullable=False),
        sa.Column('insurer', sa.String(length=64), nullable=True),
        sa.Column('policy_no', sa.String(length=64), nullable=True),
        sa.Column('record_id', sa.String(length=64), nullable=True),
        sa.Column('level', sa.String(length=16), nullable=True),
        sa.Column('description', sa.Text(), nullable=True),
        sa.Column('found_on', sa.Date(), nullable=True),
        sa.Column('deadline', sa.Date(), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('status_changed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('counts_as_self_inspection', sa.Boolean(), nullable=False),
        sa.Column('enforcement_basis', sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint('hazard_id'),
    )
    op.create_index(op.f('ix_ledger_hazard_credit_code'), 'ledger_hazard', ['credit_code'], unique=False)
    op.create_index(op.f('ix_ledger_hazard_found_on'), 'ledger_hazard', ['found_on'], unique=False)
    op.create_index(op.f('ix_ledger_hazard_status'), 'ledger_hazard', ['status'], unique=False)
    op.create_table(
        'ledger_service_record',
        sa.Column('record_id', sa.String(length=64), nullable=False),
        sa.Column('credit_code', sa.String(length=18), nullable=False),
        sa.Column('policy_no', sa.String(length=64), nullable=False),
        sa.Column('insurer', sa.String(length=64), nullable=False),
        sa.Column('institution_code', sa.String(length=64), nullable=False),
        sa.Column('item', sa.String(length=32), nullable=False),
        sa.Column('performed_on', sa.Date(), nullable=False),
        sa.Column('staff', sa.Text(), nullable=False),
        sa.Column('cost', sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column('hazards_found', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('record_id'),
    )
    op.create_index(op.f('ix_ledger_service_record_credit_code'), 'ledger_service_record', ['credit_code'], unique=False)
    op.create_index(op.f('ix_ledger_service_record_performed_on'), 'ledger_service_record', ['performed_on'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_ledger_service_record_performed_on'), table_name='ledger_service_record')
    op.drop_index(op.f('ix_ledger_service_record_credit_code'), table_name='ledger_service_record')
    op.drop_table('ledger_service_record')
    op.drop_index(op.f('ix_ledger_hazard_status'), table_name='ledger_hazard')
    op.drop_index(op.f('ix_ledger_hazard_found_on'), table_name='ledger_hazard')
    op.drop_index(op.f('ix_ledger_hazard_credit_code'), table_name='ledger_hazard')
    op.drop_table('ledger_hazard')

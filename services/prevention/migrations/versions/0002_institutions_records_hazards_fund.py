"""policy copies, institutions, filings, evaluations, service plans and records, hazards, fund ledger, idempotency keys

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

from kernel.migration_steps import create_idempotency_table_v1, drop_idempotency_table_v1


revision: str = '0002'
down_revision: Union[str, None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('fund_entries',
    sa.Column('entry_id', sa.String(length=40), nullable=False),
    sa.Column('insurer', sa.String(length=100), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=True),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('collected_premium', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('record_id', sa.String(length=40), nullable=True),
    sa.Column('reverses', sa.String(length=40), nullable=True),
    sa.Column('source', sa.String(length=100), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('entry_id'),
    sa.UniqueConstraint('reverses'),
    sa.UniqueConstraint('source')
    )
    with op.batch_alter_table('fund_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fund_entries_insurer'), ['insurer'], unique=False)
        batch_op.create_index(batch_op.f('ix_fund_entries_year'), ['year'], unique=False)

    op.create_table('hazard_changes',
    sa.Column('change_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('hazard_id', sa.String(length=40), nullable=False),
    sa.Column('from_status', sa.String(length=16), nullable=True),
    sa.Column('to_status', sa.String(length=16), nullable=False),
    sa.Column('changed_by', sa.String(length=200), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('change_id')
    )
    with op.batch_alter_table('hazard_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hazard_changes_hazard_id'), ['hazard_id'], unique=False)

    op.create_table('hazards',
    sa.Column('hazard_id', sa.String(length=40), nullable=False),
    sa.Column('insurer', sa.String(length=100), nullable=False),
    sa.Column('credit_code', sa.String(length=18), nullable=False),
    sa.Column('policy_no', sa.String(length=64), nullable=True),
    sa.Column('record_id', sa.String(length=40), nullable=True),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('found_on', sa.Date(), nullable=False),
    sa.Column('deadline', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.Column('verified_by', sa.String(length=200), nullable=True),
    sa.Column('reported_by', sa.String(length=100), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('hazard_id')
    )
    with op.batch_alter_table('hazards', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hazards_credit_code'), ['credit_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_hazards_insurer'), ['insurer'], unique=False)
        batch_op.create_index(batch_op.f('ix_hazards_reported_by'), ['reported_by'], unique=False)
        batch_op.create_index(batch_op.f('ix_hazards_status'), ['status'], unique=False)

    create_idempotency_table_v1()
    op.create_table('institution_evaluations',
    sa.Column('evaluation_id', sa.String(length=40), nullable=False),
    sa.Column('institution_code', sa.String(length=18), nullable=False),
    sa.Column('insurer', sa.String(length=100), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('score', sa.Numeric(precision=6, scale=2), nullable=False),
    sa.Column('passed', sa.Boolean(), nullable=False),
    sa.Column('evaluated_on', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('evaluation_id')
    )
    with op.batch_alter_table('institution_evaluations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_institution_evaluations_institution_code'), ['institution_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_institution_evaluations_insurer'), ['insurer'], unique=False)

    op.create_table('institution_filings',
    sa.Column('filing_id', sa.String(length=40), nullable=False),
    sa.Column('institution_code', sa.String(length=18), nullable=False),
    sa.Column('insurer', sa.String(length=100), nullable=False),
    sa.Column('filed_on', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('filing_id'),
    sa.UniqueConstraint('institution_code', 'insurer', name='uq_filing_institution_insurer')
    )
    with op.batch_alter_table('institution_filings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_institution_filings_institution_code'), ['institution_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_institution_filings_insurer'), ['insurer'], unique=False)

    op.create_table('institutions',
    sa.Column('institution_code', sa.String(length=18), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('qualifications', sa.JSON(), nullable=False),
    sa.Column('professional_staff', sa.Integer(), nullable=False),
    sa.Column('owner_tenant', sa.String(length=100), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('dishonest', sa.Boolean(), nullable=False),
    sa.Column('dishonesty_reason', sa.Text(), nullable=True),
    sa.Column('exit_reason', sa.String(length=32), nullable=True),
    sa.Column('registered_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('institution_code')
    )
    with op.batch_alter_table('institutions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_institutions_owner_tenant'), ['owner_tenant'], unique=False)

    op.create_table('policy_copies',
    sa.Column('policy_no', sa.String(length=64), nullable=False),
    sa.Column('insurer', sa.String(length=100), nullable=False),
    sa.Column('credit_code', sa.String(length=18), nullable=False),
    sa.Column('jurisdiction', sa.String(length=32), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('cancelled_from', sa.Date(), nullable=True),
    sa.PrimaryKeyConstraint('policy_no')
    )
    with op.batch_alter_table('policy_copies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_policy_copies_credit_code'), ['credit_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_policy_copies_insurer'), ['insurer'], unique=False)

    op.create_table('service_plans',
    sa.Column('plan_id', sa.String(length=40), nullable=False),
    sa.Column('insurer', sa.String(length=100), nullable=False),
    sa.Column('credit_code', sa.String(length=18), nullable=False),
    sa.Column('policy_no', sa.String(length=64), nullable=False),
    sa.Column('institution_code', sa.String(length=18), nullable=False),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.Column('frequency', sa.String(length=200), nullable=False),
    sa.Column('staff', sa.JSON(), nullable=False),
    sa.Column('goals', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('plan_id')
    )
    with op.batch_alter_table('service_plans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_plans_credit_code'), ['credit_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_plans_insurer'), ['insurer'], unique=False)

    op.create_table('service_records',
    sa.Column('record_id', sa.String(length=40), nullable=False),
    sa.Column('insurer', sa.String(length=100), nullable=False),
    sa.Column('credit_code', sa.String(length=18), nullable=False),
    sa.Column('policy_no', sa.String(length=64), nullable=False),
    sa.Column('institution_code', sa.String(length=18), nullable=False),
    sa.Column('item', sa.String(length=40), nullable=False),
    sa.Column('performed_on', sa.Date(), nullable=False),
    sa.Column('place', sa.String(length=300), nullable=False),
    sa.Column('staff', sa.JSON(), nullable=False),
    sa.Column('cost', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('findings', sa.Text(), nullable=False),
    sa.Column('attachments', sa.JSON(), nullable=False),
    sa.Column('confirmed_by_unit', sa.Boolean(), nullable=False),
    sa.Column('recorded_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('record_id')
    )
    with op.batch_alter_table('service_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_records_credit_code'), ['credit_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_records_institution_code'), ['institution_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_records_insurer'), ['insurer'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_records_recorded_by'), ['recorded_by'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('service_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_records_recorded_by'))
        batch_op.drop_index(batch_op.f('ix_service_records_insurer'))
        batch_op.drop_index(batch_op.f('ix_service_records_institution_code'))
        batch_op.drop_index(batch_op.f('ix_service_records_credit_code'))

    op.drop_table('service_records')
    with op.batch_alter_table('service_plans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_plans_insurer'))
        batch_op.drop_index(batch_op.f('ix_service_plans_credit_code'))

    op.drop_table('service_plans')
    with op.batch_alter_table('policy_copies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_policy_copies_insurer'))
        batch_op.drop_index(batch_op.f('ix_policy_copies_credit_code'))

    op.drop_table('policy_copies')
    with op.batch_alter_table('institutions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_institutions_owner_tenant'))

    op.drop_table('institutions')
    with op.batch_alter_table('institution_filings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_institution_filings_insurer'))
        batch_op.drop_index(batch_op.f('ix_institution_filings_institution_code'))

    op.drop_table('institution_filings')
    with op.batch_alter_table('institution_evaluations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_institution_evaluations_insurer'))
        batch_op.drop_index(batch_op.f('ix_institution_evaluations_institution_code'))

    op.drop_table('institution_evaluations')
    drop_idempotency_table_v1()
    with op.batch_alter_table('hazards', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hazards_status'))
        batch_op.drop_index(batch_op.f('ix_hazards_reported_by'))
        batch_op.drop_index(batch_op.f('ix_hazards_insurer'))
        batch_op.drop_index(batch_op.f('ix_hazards_credit_code'))

    op.drop_table('hazards')
    with op.batch_alter_table('hazard_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hazard_changes_hazard_id'))

    op.drop_table('hazard_changes')
    with op.batch_alter_table('fund_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fund_entries_year'))
        batch_op.drop_index(batch_op.f('ix_fund_entries_insurer'))

    op.drop_table('fund_entries')

"""policy covers (from policy events), claims, victims, costs, payments, idempotency keys

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
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
    create_idempotency_table_v1()
    op.create_table('policy_covers',
    sa.Column('policy_no', sa.String(length=64), nullable=False),
    sa.Column('insurer', sa.String(length=100), nullable=False),
    sa.Column('credit_code', sa.String(length=18), nullable=False),
    sa.Column('jurisdiction', sa.String(length=32), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('cancelled_from', sa.Date(), nullable=True),
    sa.Column('per_person_limit', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('per_accident_limit', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('aggregate_limit', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('medical_limit', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('rescue_limit', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('legal_limit', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('headcount', sa.Integer(), nullable=False),
    sa.Column('insured_ids', sa.JSON(), nullable=False),
    sa.Column('used_aggregate', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('used_rescue', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('used_legal', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.PrimaryKeyConstraint('policy_no')
    )
    with op.batch_alter_table('policy_covers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_policy_covers_credit_code'), ['credit_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_policy_covers_insurer'), ['insurer'], unique=False)

    op.create_table('claims',
    sa.Column('claim_id', sa.String(length=40), nullable=False),
    sa.Column('policy_no', sa.String(length=64), nullable=False),
    sa.Column('insurer', sa.String(length=100), nullable=False),
    sa.Column('credit_code', sa.String(length=18), nullable=False),
    sa.Column('jurisdiction', sa.String(length=32), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('place', sa.String(length=300), nullable=False),
    sa.Column('accident_type', sa.String(length=32), nullable=False),
    sa.Column('deaths', sa.Integer(), nullable=False),
    sa.Column('serious_injuries', sa.Integer(), nullable=False),
    sa.Column('minor_injuries', sa.Integer(), nullable=False),
    sa.Column('direct_loss', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('major_social_impact', sa.Boolean(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('grade', sa.String(length=24), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('fast_track', sa.Boolean(), nullable=False),
    sa.Column('fast_track_deadline', sa.DateTime(timezone=True), nullable=True),
    sa.Column('fast_track_started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('overdue_raised', sa.Boolean(), nullable=False),
    sa.Column('assessed_total', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('paid_total', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.ForeignKeyConstraint(['policy_no'], ['policy_covers.policy_no'], ),
    sa.PrimaryKeyConstraint('claim_id')
    )
    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_claims_credit_code'), ['credit_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_claims_insurer'), ['insurer'], unique=False)
        batch_op.create_index(batch_op.f('ix_claims_overdue_raised'), ['overdue_raised'], unique=False)
        batch_op.create_index(batch_op.f('ix_claims_policy_no'), ['policy_no'], unique=False)

    op.create_table('claim_costs',
    sa.Column('cost_id', sa.String(length=40), nullable=False),
    sa.Column('claim_id', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('payable', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('steps', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['claim_id'], ['claims.claim_id'], ),
    sa.PrimaryKeyConstraint('cost_id')
    )
    with op.batch_alter_table('claim_costs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_claim_costs_claim_id'), ['claim_id'], unique=False)

    op.create_table('claim_payments',
    sa.Column('payment_id', sa.String(length=40), nullable=False),
    sa.Column('claim_id', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('note', sa.String(length=300), nullable=False),
    sa.ForeignKeyConstraint(['claim_id'], ['claims.claim_id'], ),
    sa.PrimaryKeyConstraint('payment_id')
    )
    with op.batch_alter_table('claim_payments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_claim_payments_claim_id'), ['claim_id'], unique=False)

    op.create_table('victims',
    sa.Column('victim_id', sa.String(length=40), nullable=False),
    sa.Column('claim_id', sa.String(length=40), nullable=False),
    sa.Column('resident_id', sa.String(length=18), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('relation', sa.String(length=16), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('disability_grade', sa.Integer(), nullable=True),
    sa.Column('medical_costs', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('death_disability_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('medical_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('payable', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('limits_exhausted', sa.Boolean(), nullable=False),
    sa.Column('steps', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['claim_id'], ['claims.claim_id'], ),
    sa.PrimaryKeyConstraint('victim_id')
    )
    with op.batch_alter_table('victims', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_victims_claim_id'), ['claim_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('victims', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_victims_claim_id'))

    op.drop_table('victims')
    with op.batch_alter_table('claim_payments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_claim_payments_claim_id'))

    op.drop_table('claim_payments')
    with op.batch_alter_table('claim_costs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_claim_costs_claim_id'))

    op.drop_table('claim_costs')
    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_claims_policy_no'))
        batch_op.drop_index(batch_op.f('ix_claims_overdue_raised'))
        batch_op.drop_index(batch_op.f('ix_claims_insurer'))
        batch_op.drop_index(batch_op.f('ix_claims_credit_code'))

    op.drop_table('claims')
    with op.batch_alter_table('policy_covers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_policy_covers_insurer'))
        batch_op.drop_index(batch_op.f('ix_policy_covers_credit_code'))

    op.drop_table('policy_covers')
    drop_idempotency_table_v1()

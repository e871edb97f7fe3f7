"""rosters, quotes, policies, endorsements, premium receipts, idempotency keys, experience

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
    op.create_table('accident_experience',
    sa.Column('accident_id', sa.String(length=64), nullable=False),
    sa.Column('credit_code', sa.String(length=18), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('grade', sa.String(length=24), nullable=False),
    sa.Column('deaths', sa.Integer(), nullable=False),
    sa.Column('event_time', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('accident_id')
    )
    with op.batch_alter_table('accident_experience', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_accident_experience_credit_code'), ['credit_code'], unique=False)

    op.create_table('hazard_experience',
    sa.Column('hazard_id', sa.String(length=64), nullable=False),
    sa.Column('credit_code', sa.String(length=18), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('major', sa.Boolean(), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('hazard_id')
    )
    with op.batch_alter_table('hazard_experience', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hazard_experience_credit_code'), ['credit_code'], unique=False)

    create_idempotency_table_v1()
    op.create_table('policies',
    sa.Column('policy_no', sa.String(length=40), nullable=False),
    sa.Column('quote_id', sa.String(length=40), nullable=True),
    sa.Column('previous_policy_no', sa.String(length=40), nullable=True),
    sa.Column('insurer', sa.String(length=64), nullable=False),
    sa.Column('credit_code', sa.String(length=18), nullable=False),
    sa.Column('jurisdiction', sa.String(length=32), nullable=False),
    sa.Column('profile_version', sa.String(length=64), nullable=False),
    sa.Column('must_insure', sa.Boolean(), nullable=False),
    sa.Column('rating_basis', sa.String(length=16), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('per_person_limit', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('headcount', sa.Integer(), nullable=False),
    sa.Column('issue_headcount', sa.Integer(), nullable=False),
    sa.Column('issue_premium', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('written_premium', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('collected_premium', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('commission', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('sub_limits', sa.JSON(), nullable=False),
    sa.Column('breakdown', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('cancellation_reason', sa.String(length=32), nullable=True),
    sa.Column('cancelled_from', sa.Date(), nullable=True),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('endorsement_count', sa.Integer(), nullable=False),
    sa.Column('receipt_count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['credit_code'], ['enterprises.credit_code'], ),
    sa.PrimaryKeyConstraint('policy_no'),
    sa.UniqueConstraint('previous_policy_no'),
    sa.UniqueConstraint('quote_id')
    )
    with op.batch_alter_table('policies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_policies_credit_code'), ['credit_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_policies_insurer'), ['insurer'], unique=False)

    op.create_table('quotes',
    sa.Column('quote_id', sa.String(length=40), nullable=False),
    sa.Column('insurer', sa.String(length=64), nullable=False),
    sa.Column('credit_code', sa.String(length=18), nullable=False),
    sa.Column('jurisdiction', sa.String(length=32), nullable=False),
    sa.Column('profile_version', sa.String(length=64), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('per_person_limit', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('headcount', sa.Integer(), nullable=False),
    sa.Column('premium', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('commission', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('breakdown', sa.JSON(), nullable=False),
    sa.Column('insured_people', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('valid_until', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['credit_code'], ['enterprises.credit_code'], ),
    sa.PrimaryKeyConstraint('quote_id')
    )
    with op.batch_alter_table('quotes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quotes_credit_code'), ['credit_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_quotes_insurer'), ['insurer'], unique=False)

    op.create_table('roster_members',
    sa.Column('credit_code', sa.String(length=18), nullable=False),
    sa.Column('resident_id', sa.String(length=18), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('employment_type', sa.String(length=16), nullable=False),
    sa.Column('insured_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.ForeignKeyConstraint(['credit_code'], ['enterprises.credit_code'], ),
    sa.PrimaryKeyConstraint('credit_code', 'resident_id')
    )
    op.create_table('endorsements',
    sa.Column('endorsement_no', sa.String(length=48), nullable=False),
    sa.Column('policy_no', sa.String(length=40), nullable=False),
    sa.Column('effective_date', sa.Date(), nullable=False),
    sa.Column('added', sa.JSON(), nullable=False),
    sa.Column('removed', sa.JSON(), nullable=False),
    sa.Column('premium_change', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('breakdown', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['policy_no'], ['policies.policy_no'], ),
    sa.PrimaryKeyConstraint('endorsement_no')
    )
    with op.batch_alter_table('endorsements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_endorsements_policy_no'), ['policy_no'], unique=False)

    op.create_table('policy_insureds',
    sa.Column('policy_no', sa.String(length=40), nullable=False),
    sa.Column('resident_id', sa.String(length=18), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('employment_type', sa.String(length=16), nullable=False),
    sa.Column('covered_from', sa.Date(), nullable=False),
    sa.Column('removed_from', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['policy_no'], ['policies.policy_no'], ),
    sa.PrimaryKeyConstraint('policy_no', 'resident_id')
    )
    op.create_table('premium_receipts',
    sa.Column('receipt_no', sa.String(length=48), nullable=False),
    sa.Column('policy_no', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('reference', sa.String(length=100), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['policy_no'], ['policies.policy_no'], ),
    sa.PrimaryKeyConstraint('receipt_no')
    )
    with op.batch_alter_table('premium_receipts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_premium_receipts_policy_no'), ['policy_no'], unique=False)

    with op.batch_alter_table('enterprises', schema=None) as batch_op:
        batch_op.add_column(sa.Column('accident_record', sa.String(length=32), server_default='NO_ACCIDENT', nullable=False))
        batch_op.add_column(sa.Column('violation_record', sa.String(length=32), server_default='NONE', nullable=False))
        batch_op.add_column(sa.Column('hazard_rectification', sa.String(length=32), server_default='COOPERATIVE', nullable=False))
        batch_op.add_column(sa.Column('social_rescue', sa.String(length=32), server_default='NONE', nullable=False))
        batch_op.add_column(sa.Column('safety_award', sa.String(length=32), server_default='NONE', nullable=False))
        batch_op.add_column(sa.Column('revision', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('enterprises', schema=None) as batch_op:
        batch_op.drop_column('updated_at')
        batch_op.drop_column('revision')
        batch_op.drop_column('safety_award')
        batch_op.drop_column('social_rescue')
        batch_op.drop_column('hazard_rectification')
        batch_op.drop_column('violation_record')
        batch_op.drop_column('accident_record')

    with op.batch_alter_table('premium_receipts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_premium_receipts_policy_no'))

    op.drop_table('premium_receipts')
    op.drop_table('policy_insureds')
    with op.batch_alter_table('endorsements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_endorsements_policy_no'))

    op.drop_table('endorsements')
    op.drop_table('roster_members')
    with op.batch_alter_table('quotes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quotes_insurer'))
        batch_op.drop_index(batch_op.f('ix_quotes_credit_code'))

    op.drop_table('quotes')
    with op.batch_alter_table('policies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_policies_insurer'))
        batch_op.drop_index(batch_op.f('ix_policies_credit_code'))

    op.drop_table('policies')
    drop_idempotency_table_v1()
    with op.batch_alter_table('hazard_experience', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hazard_experience_credit_code'))

    op.drop_table('hazard_experience')
    with op.batch_alter_table('accident_experience', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_accident_experience_credit_code'))

    op.drop_table('accident_experience')

"""event archive push subscriptions registry and cover

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
    op.create_table('event_archive',
    sa.Column('sequence', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('type', sa.String(length=128), nullable=False),
    sa.Column('source', sa.String(length=256), nullable=False),
    sa.Column('subject', sa.String(length=256), nullable=True),
    sa.Column('partition_key', sa.String(length=64), nullable=True),
    sa.Column('time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('envelope', sa.Text(), nullable=False),
    sa.Column('archived_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('sequence'),
    sa.UniqueConstraint('event_id')
    )
    with op.batch_alter_table('event_archive', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_archive_type'), ['type'], unique=False)

    create_idempotency_table_v1()
    op.create_table('mandatory_enterprise',
    sa.Column('credit_code', sa.String(length=18), nullable=False),
    sa.Column('bureau', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('industry', sa.String(length=32), nullable=False),
    sa.Column('district', sa.String(length=64), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('credit_code', 'bureau')
    )
    with op.batch_alter_table('mandatory_enterprise', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mandatory_enterprise_district'), ['district'], unique=False)
        batch_op.create_index(batch_op.f('ix_mandatory_enterprise_industry'), ['industry'], unique=False)

    op.create_table('policy_cover_view',
    sa.Column('policy_no', sa.String(length=64), nullable=False),
    sa.Column('credit_code', sa.String(length=18), nullable=False),
    sa.Column('insurer', sa.String(length=64), nullable=False),
    sa.Column('industry', sa.String(length=32), nullable=False),
    sa.Column('district', sa.String(length=64), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('cancelled_from', sa.Date(), nullable=True),
    sa.PrimaryKeyConstraint('policy_no')
    )
    with op.batch_alter_table('policy_cover_view', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_policy_cover_view_credit_code'), ['credit_code'], unique=False)

    op.create_table('push_subscription',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('tenant', sa.String(length=64), nullable=False),
    sa.Column('endpoint_url', sa.String(length=2048), nullable=False),
    sa.Column('event_types', sa.Text(), nullable=False),
    sa.Column('secret', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('delivered_through', sa.Integer(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('lease_owner', sa.String(length=64), nullable=True),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('push_subscription', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_push_subscription_tenant'), ['tenant'], unique=False)

    op.create_table('push_dead_letter',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('subscription_id', sa.String(length=32), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('dead_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('redelivery_requested', sa.Boolean(), nullable=False),
    sa.Column('redelivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['subscription_id'], ['push_subscription.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('subscription_id', 'sequence', name='uq_push_dead_letter_subscription_sequence')
    )
    with op.batch_alter_table('push_dead_letter', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_push_dead_letter_subscription_id'), ['subscription_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('push_dead_letter', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_push_dead_letter_subscription_id'))

    op.drop_table('push_dead_letter')
    with op.batch_alter_table('push_subscription', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_push_subscription_tenant'))

    op.drop_table('push_subscription')
    with op.batch_alter_table('policy_cover_view', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_policy_cover_view_credit_code'))

    op.drop_table('policy_cover_view')
    with op.batch_alter_table('mandatory_enterprise', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mandatory_enterprise_industry'))
        batch_op.drop_index(batch_op.f('ix_mandatory_enterprise_district'))

    op.drop_table('mandatory_enterprise')
    drop_idempotency_table_v1()
    with op.batch_alter_table('event_archive', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_archive_type'))

    op.drop_table('event_archive')

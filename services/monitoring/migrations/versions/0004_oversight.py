"""insurer oversight, alerts and evaluations

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0004'
down_revision: Union[str, None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "oversight_policy",
        sa.Column("policy_no", sa.String(64), primary_key=True),
        sa.Column("insurer", sa.String(64), nullable=False),
        sa.Column("credit_code", sa.String(18), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("quarter", sa.Integer(), nullable=False),
        sa.Column("premium", sa.Numeric(18, 2), nullable=False),
        sa.Column("commission", sa.Numeric(18, 2), nullable=False),
    )
    op.create_index("ix_oversight_policy_insurer", "oversight_policy", ["insurer"])
    op.create_table(
        "oversight_alert",
        sa.Column("alert_id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(48), nullable=False),
        sa.Column("subject", sa.String(128), nullable=False),
        sa.Column("insurer", sa.String(64), nullable=True),
        sa.Column("credit_code", sa.String(18), nullable=True),
        sa.Column("observed", sa.Numeric(18, 4), nullable=True),
        sa.Column("limit", sa.Numeric(18, 4), nullable=True),
        sa.Column("message_zh", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("kind", "subject", name="uq_oversight_alert_kind_subject"),
    )
    op.create_table(
        "oversight_fund_entry",
        sa.Column("entry_id", sa.String(64), primary_key=True),
        sa.Column("insurer", sa.String(64), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("collected_premium", sa.Numeric(18, 2), nullable=False),
        sa.Column("amount", sa.Numeric(18, 2), nullable=False),
    )
    op.create_index("ix_oversight_fund_entry_insurer", "oversight_fund_entry", ["insurer"])
    op.create_table(
        "oversight_evaluation",
        sa.Column("year", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("evaluation_id", sa.String(32), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_on", sa.Date(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("oversight_evaluation")
    op.drop_index("ix_oversight_fund_entry_insurer", table_name="oversight_fund_entry")
    op.drop_table("oversight_fund_entry")
    op.drop_table("oversight_alert")
    op.drop_index("ix_oversight_policy_insurer", table_name="oversight_policy")
    op.drop_table("oversight_policy")

"""Chance-of-admission estimates of open rounds (issue 18): runs, per school and tier,
per application.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    round_fk = sa.ForeignKey("rounds.round_id")
    op.create_table(
        "estimate_runs",
        sa.Column("round_id", sa.String(40), round_fk, primary_key=True),
        sa.Column("draws", sa.Integer(), nullable=False),
        sa.Column("applications", sa.Integer(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("seats", sa.JSON(), nullable=False),
    )
    op.create_table(
        "estimate_schools",
        sa.Column("round_id", sa.String(40), sa.ForeignKey("rounds.round_id"), primary_key=True),
        sa.Column("school_code", sa.String(20), primary_key=True),
        sa.Column("tier", sa.Integer(), primary_key=True),
        sa.Column("applicants", sa.Integer(), nullable=False),
        sa.Column("first_choice", sa.Integer(), nullable=False),
        sa.Column("admitted", sa.Integer(), nullable=False),
        sa.Column("reached", sa.Integer(), nullable=False),
    )
    op.create_table(
        "estimate_chances",
        sa.Column("reference", sa.String(32), primary_key=True),
        sa.Column("round_id", sa.String(40), sa.ForeignKey("rounds.round_id"), nullable=False),
        sa.Column("draws", sa.Integer(), nullable=False),
        sa.Column("choices", sa.JSON(), nullable=False),
        sa.Column("guarantee", sa.Integer(), nullable=False),
        sa.Column("unplaced", sa.Integer(), nullable=False),
    )
    op.create_index("ix_estimate_chances_round", "estimate_chances", ["round_id"])


def downgrade() -> None:
    op.drop_index("ix_estimate_chances_round", "estimate_chances")
    for table in ("estimate_chances", "estimate_schools", "estimate_runs"):
        op.drop_table(table)

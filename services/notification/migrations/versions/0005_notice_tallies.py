"""Sends per minute, channel and status, for the live window page (issue 21).

Revision ID: 0005_notice_tallies
Revises: 0004
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_notice_tallies"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notice_tallies",
        sa.Column("minute", sa.String(16), primary_key=True),
        sa.Column("channel", sa.String(10), primary_key=True),
        sa.Column("status", sa.String(16), primary_key=True),
        sa.Column("n", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("notice_tallies")

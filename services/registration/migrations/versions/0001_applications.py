"""Applications, the round projection, outbox and inbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

from shared.db.tables import create_messaging_tables, drop_messaging_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "applications",
        sa.Column("reference", sa.String(32), primary_key=True),
        sa.Column("round_id", sa.String(40), nullable=False, index=True),
        sa.Column("citizen_id", sa.String(12), nullable=False),
        sa.Column("child_name", sa.String(120), nullable=False),
        sa.Column("date_of_birth", sa.Date, nullable=False),
        sa.Column("preferences", sa.JSON, nullable=False),
        sa.Column("guardian_name", sa.String(120), nullable=False),
        sa.Column("guardian_phone", sa.String(16), nullable=False),
        sa.Column("guardian_email", sa.String(254), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("round_id", "citizen_id", name="one_per_child_per_round"),
    )
    op.create_table(
        "rounds",
        sa.Column("round_id", sa.String(40), primary_key=True),
        sa.Column("level", sa.String(20), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("max_preferences", sa.Integer, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
    )
    create_messaging_tables(op.get_bind())


def downgrade() -> None:
    drop_messaging_tables(op.get_bind())
    op.drop_table("rounds")
    op.drop_table("applications")

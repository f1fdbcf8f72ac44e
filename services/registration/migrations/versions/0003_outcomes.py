"""The school directory projection, and when an application's status last changed.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "schools",
        sa.Column("code", sa.String(20), primary_key=True),
        sa.Column("level", sa.String(20), nullable=False),
    )
    with op.batch_alter_table("applications") as batch:
        batch.add_column(sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_applications_round_status", ["round_id", "status"])


def downgrade() -> None:
    with op.batch_alter_table("applications") as batch:
        batch.drop_index("ix_applications_round_status")
        batch.drop_column("status_changed_at")
    op.drop_table("schools")

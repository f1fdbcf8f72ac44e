"""A round's window: the instants submissions are accepted from and until.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rounds") as batch:
        batch.add_column(sa.Column("opens_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("closes_at", sa.DateTime(timezone=True), nullable=True))
    # Rounds opened before windows existed: open since they were opened; a closed one
    # closed when it was closed.
    op.execute("UPDATE rounds SET opens_at = opened_at WHERE opened_at IS NOT NULL")
    op.execute("UPDATE rounds SET closes_at = closed_at WHERE closed_at IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("rounds") as batch:
        batch.drop_column("closes_at")
        batch.drop_column("opens_at")

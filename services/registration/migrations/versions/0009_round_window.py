"""Round windows (the instants submissions count between) and refusals after a 202.

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
    with op.batch_alter_table("applications") as batch:
        batch.add_column(sa.Column("refusal", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("applications") as batch:
        batch.drop_column("refusal")
    with op.batch_alter_table("rounds") as batch:
        batch.drop_column("closes_at")
        batch.drop_column("opens_at")

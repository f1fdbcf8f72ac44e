"""Late applications: the reason the department recorded when it accepted one after close,
and the account that accepted it (NULL for every on-time application).

Revision ID: 0014_late_applications
Revises: 0013_corrections
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_late_applications"
down_revision = "0013_corrections"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("applications") as batch:
        batch.add_column(sa.Column("late_reason", sa.String(500), nullable=True))
        batch.add_column(sa.Column("late_accepted_by", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("applications") as batch:
        batch.drop_column("late_accepted_by")
        batch.drop_column("late_reason")

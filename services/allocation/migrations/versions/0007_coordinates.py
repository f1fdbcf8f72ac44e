"""Geocoded points: each school's, and each verified application's residence (optional).

Revision ID: 0007
Revises: 0005
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("schools", "applications"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("lat", sa.Float(), nullable=True))
            batch.add_column(sa.Column("lon", sa.Float(), nullable=True))


def downgrade() -> None:
    for table in ("schools", "applications"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("lon")
            batch.drop_column("lat")

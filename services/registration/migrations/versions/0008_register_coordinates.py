"""The geocoded point of each person's registered residence (optional).

Revision ID: 0008
Revises: 0006
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("register_people") as batch:
        batch.add_column(sa.Column("lat", sa.Float(), nullable=True))
        batch.add_column(sa.Column("lon", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("register_people") as batch:
        batch.drop_column("lon")
        batch.drop_column("lat")

"""The school a child left and why: a school keeps seeing whom it turned away (with its
reason), who declined and whose offer expired; the family reads the school's reason.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("placements") as batch:
        batch.add_column(sa.Column("left_school", sa.String(20), nullable=True))
        batch.add_column(sa.Column("leave_reason", sa.String(200), nullable=True))
        batch.create_index("ix_placements_round_left", ["round_id", "left_school"])


def downgrade() -> None:
    with op.batch_alter_table("placements") as batch:
        batch.drop_index("ix_placements_round_left")
        batch.drop_column("leave_reason")
        batch.drop_column("left_school")

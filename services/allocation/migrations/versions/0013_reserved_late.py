"""Reserved seats, late applications and the pool of each seat.

`reserved_seats`: per round and school, seats held for children of one register category
(set by the department). `applications.late`: accepted by the department after close.
`placements.pool` (general or reserved; NULL when unplaced) and `placements.late`: what the
engine returned for each child, shown in every explanation.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reserved_seats",
        sa.Column("round_id", sa.String(40), sa.ForeignKey("rounds.round_id"), primary_key=True),
        sa.Column("school_code", sa.String(20), primary_key=True),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("seats", sa.Integer, nullable=False),
    )
    with op.batch_alter_table("applications") as batch:
        batch.add_column(sa.Column("late", sa.Boolean, nullable=False, server_default=sa.false()))
    with op.batch_alter_table("placements") as batch:
        batch.add_column(sa.Column("pool", sa.String(10), nullable=True))
        batch.add_column(sa.Column("late", sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("placements") as batch:
        batch.drop_column("late")
        batch.drop_column("pool")
    with op.batch_alter_table("applications") as batch:
        batch.drop_column("late")
    op.drop_table("reserved_seats")

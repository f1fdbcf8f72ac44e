"""The live window's running counts per round (issue 21: the department's live page).

Revision ID: 0010_live_tallies
Revises: 0009
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

from services.registration.intake.tallies import recount_statements

revision = "0010_live_tallies"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "live_tallies",
        sa.Column("round_id", sa.String(40), primary_key=True),
        sa.Column("series", sa.String(16), primary_key=True),
        sa.Column("key", sa.String(40), primary_key=True),
        sa.Column("n", sa.Integer(), nullable=False),
    )
    # The counts of the applications already stored (a round open during the upgrade): by
    # status, ward, reason and minute of submission. Verdicts per minute start from here.
    for statement in recount_statements(op.get_bind().dialect.name):
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("live_tallies")

"""The draw's commitments: the seed's hash at close, the inputs' digest per allocation run.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rounds") as batch:
        batch.add_column(sa.Column("seed_commitment", sa.String(64), nullable=True))
        batch.add_column(
            sa.Column("input_digests", sa.JSON(), nullable=False, server_default="[]")
        )


def downgrade() -> None:
    with op.batch_alter_table("rounds") as batch:
        batch.drop_column("input_digests")
        batch.drop_column("seed_commitment")

"""Wards and schools with their catchments.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wards",
        sa.Column("code", sa.String(10), primary_key=True),
        sa.Column("name", sa.String(120), nullable=False),
    )
    op.create_table(
        "schools",
        sa.Column("code", sa.String(20), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("level", sa.String(20), nullable=False, index=True),
        sa.Column("capacity", sa.Integer, nullable=False),
        sa.Column("ward_code", sa.String(10), nullable=False),
        sa.Column("catchment", sa.JSON, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("schools")
    op.drop_table("wards")

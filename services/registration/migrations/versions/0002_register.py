"""The population register, and what verification records on applications.

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
        "register_people",
        sa.Column("citizen_id", sa.String(12), primary_key=True),
        sa.Column("full_name", sa.String(120), nullable=False),
        sa.Column("date_of_birth", sa.Date, nullable=False),
        sa.Column("gender", sa.String(1), nullable=False),
        sa.Column("ward_code", sa.String(10), nullable=False),
        sa.Column("household_id", sa.String(20), nullable=False),
        sa.Column("priority_category", sa.String(40), nullable=True),
    )
    op.create_index("ix_register_people_household_id", "register_people", ["household_id"])
    # Batch mode: SQLite (the embedded default) cannot alter tables in place in general.
    with op.batch_alter_table("applications") as batch:
        batch.add_column(sa.Column("ward_code", sa.String(10), nullable=True))
        batch.add_column(sa.Column("priority_category", sa.String(40), nullable=True))
        batch.add_column(sa.Column("household_id", sa.String(20), nullable=True))
        batch.add_column(sa.Column("rejection_reasons", sa.JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("applications") as batch:
        batch.drop_column("rejection_reasons")
        batch.drop_column("household_id")
        batch.drop_column("priority_category")
        batch.drop_column("ward_code")
    op.drop_index("ix_register_people_household_id", table_name="register_people")
    op.drop_table("register_people")

"""The department's dashboard at a city's scale: each school's demand in a round (children
who ranked it first, and anywhere) stored with its seats, and a school's name as people
search it (without diacritics).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

from shared.text import folded

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("round_schools") as batch:
        batch.add_column(sa.Column("first_choices", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("ranked", sa.Integer, nullable=False, server_default="0"))
    with op.batch_alter_table("schools") as batch:
        batch.add_column(sa.Column("search_key", sa.String(240), nullable=False, server_default=""))
    schools = sa.table("schools", sa.column("code"), sa.column("name"), sa.column("search_key"))
    connection = op.get_bind()
    for code, name in connection.execute(sa.select(schools.c.code, schools.c.name)).all():
        connection.execute(
            schools.update()
            .where(schools.c.code == code)
            .values(search_key=folded(f"{name} {code}"))
        )


def downgrade() -> None:
    with op.batch_alter_table("schools") as batch:
        batch.drop_column("search_key")
    with op.batch_alter_table("round_schools") as batch:
        batch.drop_column("ranked")
        batch.drop_column("first_choices")

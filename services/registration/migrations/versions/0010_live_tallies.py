"""The live window's running counts per round (issue 21: the department's live page).

Revision ID: 0010_live_tallies
Revises: 0009
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

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
    postgres = op.get_bind().dialect.name == "postgresql"
    minute = (
        "to_char(submitted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI')"
        if postgres
        else "strftime('%Y-%m-%dT%H:%M', submitted_at)"
    )
    reasons = (
        "json_array_elements(a.rejection_reasons) AS r(value)"
        if postgres
        else "json_each(a.rejection_reasons) AS r"
    )
    code = "r.value->>'code'" if postgres else "json_extract(r.value, '$.code')"
    for select in (
        "SELECT round_id, 'status', status, count(*) FROM applications GROUP BY 1, 3",
        "SELECT round_id, 'ward', ward_code, count(*) FROM applications WHERE ward_code IS NOT"
        " NULL AND status NOT IN ('withdrawn', 'refused') GROUP BY 1, 3",
        f"SELECT round_id, 'submitted', {minute}, count(*) FROM applications GROUP BY 1, 3",
        f"SELECT round_id, 'reason', code, count(DISTINCT reference) FROM (SELECT a.round_id,"
        f" a.reference, {code} AS code FROM applications AS a, {reasons}"
        " WHERE a.status = 'rejected') AS found GROUP BY 1, 3",
    ):
        op.execute(f"INSERT INTO live_tallies (round_id, series, key, n) {select}")


def downgrade() -> None:
    op.drop_table("live_tallies")

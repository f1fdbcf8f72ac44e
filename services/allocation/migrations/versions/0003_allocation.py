"""Round lifecycle columns, verified applications, per-round seats, results, waitlists, export.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("rounds") as batch:
        batch.add_column(sa.Column("number", sa.Integer, nullable=False, server_default="1"))
        batch.add_column(sa.Column("policy", sa.JSON, nullable=False, server_default="{}"))
        batch.add_column(sa.Column("offer_days", sa.Integer, nullable=False, server_default="7"))
        for column in ("closed_at", "allocated_at", "published_at", "finalized_at"):
            batch.add_column(sa.Column(column, TIMESTAMP, nullable=True))
        batch.add_column(sa.Column("offer_deadline", TIMESTAMP, nullable=True))
        batch.add_column(sa.Column("seed", sa.String(64), nullable=True))
        batch.add_column(sa.Column("job", sa.String(20), nullable=True))
        batch.add_column(sa.Column("job_requested_at", TIMESTAMP, nullable=True))
        batch.add_column(sa.Column("job_error", sa.Text, nullable=True))
        batch.add_column(
            sa.Column("preview_stale", sa.Boolean, nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("statistics", sa.JSON, nullable=True))
    op.create_table(
        "round_schools",
        sa.Column("round_id", sa.String(40), sa.ForeignKey("rounds.round_id"), primary_key=True),
        sa.Column("school_code", sa.String(20), primary_key=True),
        sa.Column("base_capacity", sa.Integer, nullable=False),
        sa.Column("held_earlier", sa.Integer, nullable=False),
        sa.Column("capacity", sa.Integer, nullable=False),
        sa.Column("occupied", sa.Integer, nullable=False),
        sa.Column("catchment", sa.JSON, nullable=False),
        sa.Column("cutoff_tier", sa.Integer, nullable=True),
        sa.Column("cutoff_lottery", sa.String(20), nullable=True),
        sa.Column("cutoff_distance", sa.Integer, nullable=True),
    )
    op.create_table(
        "applications",
        sa.Column("reference", sa.String(32), primary_key=True),
        sa.Column("round_id", sa.String(40), nullable=False, index=True),
        sa.Column("citizen_id", sa.String(12), nullable=True),
        sa.Column("ward_code", sa.String(10), nullable=True),
        sa.Column("household_id", sa.String(20), nullable=True),
        sa.Column("priority_category", sa.String(40), nullable=True),
        sa.Column("preferences", sa.JSON, nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("as_of", TIMESTAMP, nullable=False),
    )
    op.create_table(
        "placements",
        sa.Column("reference", sa.String(32), primary_key=True),
        sa.Column("round_id", sa.String(40), sa.ForeignKey("rounds.round_id"), nullable=False),
        sa.Column("citizen_id", sa.String(12), nullable=False),
        sa.Column("preferences", sa.JSON, nullable=False),
        sa.Column("tiers", sa.JSON, nullable=False),
        sa.Column("distances", sa.JSON, nullable=True),
        sa.Column("lottery", sa.String(20), nullable=False),
        sa.Column("school_code", sa.String(20), nullable=True),
        sa.Column("placed_by", sa.String(12), nullable=False),
        sa.Column("rank", sa.Integer, nullable=True),
        sa.Column("reason", sa.String(40), nullable=True),
        sa.Column("seat_school", sa.String(20), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("deadline", TIMESTAMP, nullable=True),
    )
    op.create_index(
        "ix_placements_round_status_deadline", "placements", ["round_id", "status", "deadline"]
    )
    op.create_index("ix_placements_round_seat", "placements", ["round_id", "seat_school"])
    op.create_table(
        "waitlist_entries",
        sa.Column("round_id", sa.String(40), sa.ForeignKey("rounds.round_id"), primary_key=True),
        sa.Column("school_code", sa.String(20), primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("reference", sa.String(32), nullable=False),
    )
    op.create_index("ix_waitlist_entries_reference", "waitlist_entries", ["reference"])
    op.create_table(
        "export_chunks",
        sa.Column("round_id", sa.String(40), sa.ForeignKey("rounds.round_id"), primary_key=True),
        sa.Column("chunk", sa.Integer, primary_key=True),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("export_chunks")
    op.drop_index("ix_waitlist_entries_reference", "waitlist_entries")
    op.drop_table("waitlist_entries")
    op.drop_index("ix_placements_round_seat", "placements")
    op.drop_index("ix_placements_round_status_deadline", "placements")
    op.drop_table("placements")
    op.drop_table("applications")
    op.drop_table("round_schools")
    with op.batch_alter_table("rounds") as batch:
        for column in (
            "statistics",
            "preview_stale",
            "job_error",
            "job_requested_at",
            "job",
            "seed",
            "offer_deadline",
            "finalized_at",
            "published_at",
            "allocated_at",
            "closed_at",
            "offer_days",
            "policy",
            "number",
        ):
            batch.drop_column(column)

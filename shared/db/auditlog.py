"""The append-only audit log's table, as the gateway and registration both create it.

Each keeps its own `audit_log` (one database per service); shared/auditquery.py searches the
two together, so their shape is one definition. Migrations call these with their `op`.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

TS = sa.DateTime(timezone=True)
GUARD = "audit_log_append_only"


def create(op: Any) -> None:
    """The table, its indexes by time and actor, and the guard that makes it append-only."""
    op.create_table(
        "audit_log",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer, "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor_id", sa.String(36)),
        sa.Column("role", sa.String(16)),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("objects", sa.JSON, nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("ip", sa.String(45)),
        sa.Column("correlation_id", sa.String(64)),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_actor_id", "audit_log", ["actor_id"])


def append_only(op: Any) -> None:
    """An entry cannot be edited or removed through SQL: INSERTs only."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"""
            CREATE FUNCTION {GUARD}() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION 'audit_log is append-only';
            END
            $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            "CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log "
            f"FOR EACH ROW EXECUTE FUNCTION {GUARD}()"
        )
        op.execute(
            "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {GUARD}()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
                "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
            )


def drop_guard(op: Any) -> None:
    """The guard's triggers and function (the table itself is the caller's to drop)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_change ON audit_log")
        op.execute(f"DROP FUNCTION IF EXISTS {GUARD}()")

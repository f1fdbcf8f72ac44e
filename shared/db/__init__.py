"""Database plumbing: per-service engines, sessions, the outbox and the idempotent inbox."""

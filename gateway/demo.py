"""The demo city's sample applications, submitted into the demo rounds for `make run`.

They travel as real submissions do: each child's application is claimed for one demo account
("the sample families") in the gateway's database and published as a persistent
`submit_application` command with the broker's confirm. Registration verifies them against
the register when it starts, so the school and department pages have something to show.
Loading again submits only the children not claimed yet: a second `make run` adds nothing.
Development only, like the demo accounts.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from gateway.auth import accounts
from gateway.auth.models import ApplicationClaim
from gateway.auth.passwords import Passwords
from gateway.db import GatewayDatabase, utcnow
from gateway.references import application_reference
from shared import topology
from shared.events import make_message
from shared.messaging.bus import PipelinedPublisher, declare_topology, retry_delays

# Fixed, printed by `make run`: the account that submitted every sample application.
DEMO_FAMILIES = {"phone": "0900000000", "password": "demo-families-2027"}


def sample_applications(path: Path) -> Iterator[dict[str, Any]]:
    """The demo city's applications file, one JSON body of `POST /applications` a line."""
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def load_sample_applications(config: dict[str, Any], path: Path) -> int:
    """Claim and submit every sample application not claimed yet; how many were submitted."""
    if config.get("ENVIRONMENT", "development") != "development":
        raise SystemExit("sample applications exist in development only")
    database = GatewayDatabase(config["GATEWAY_DB_URI"], pool_size=1)
    try:
        # Published before the claims commit: if the commit fails, the next load sends the
        # same children again, which registration takes as unchanged resubmissions.
        with database.session() as session:
            owner = _families_account(session)
            fresh = _claim_new(session, owner, config["REFERENCE_SECRET"], path)
            if fresh:
                _publish(config, fresh)
    finally:
        database.dispose()
    return len(fresh)


def _publish(config: dict[str, Any], commands: list[dict[str, Any]]) -> None:
    declare_topology(config["AMQP_URI"], retry_delays(config))
    queue = topology.command_queue("registration", "submit_application").name
    publisher = PipelinedPublisher(config["AMQP_URI"])
    try:
        publisher.publish([(topology.COMMANDS.name, queue, command) for command in commands])
    finally:
        publisher.close()


def _families_account(session: Session) -> str:
    account = accounts.by_phone(session, DEMO_FAMILIES["phone"])
    if account is None:
        account = accounts.add_parent(
            session, DEMO_FAMILIES["phone"], Passwords().hash(DEMO_FAMILIES["password"])
        )
        account.phone_verified_at = utcnow()
        session.flush()
    return account.id


def _claim_new(session: Session, owner: str, secret: str, path: Path) -> list[dict[str, Any]]:
    """The `submit_application` commands of the children this call claimed."""
    table = ApplicationClaim.__table__
    assert isinstance(table, Table)
    bodies = {
        application_reference(secret, body["round_id"], body["child"]["citizen_id"]): body
        for body in sample_applications(path)
    }
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    rows = [
        {"reference": ref, "owner_id": owner, "round_id": body["round_id"], "claimed_at": utcnow()}
        for ref, body in sorted(bodies.items())
    ]
    statement = insert(table).on_conflict_do_nothing().returning(table.c.reference)
    claimed = set(session.scalars(statement, rows)) if rows else set()
    now = datetime.now(UTC)
    return [
        make_message(
            "submit_application",
            {**bodies[ref], "reference": ref, "submitted_at": now, "owner_id": owner},
        )
        for ref in sorted(claimed)
        if ref in bodies
    ]

"""The demo city's sample applications, submitted into the demo rounds for `make run`.

Run once the services are up (`make run` does). They travel as real submissions do: each
child's application is claimed for one demo account ("the sample families") in the gateway's
database and published as a persistent `submit_application` command with the broker's
confirm; registration verifies them against the register, so the school and department
pages have something to show. The account takes its notices in the in-app inbox only (its
contact preferences say so), so the console is not flooded with 600 texts. Loading again
submits only the children not claimed yet: a second `make run` adds nothing. Development
only, like the demo accounts.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from gateway.auth import accounts
from gateway.auth.models import ApplicationClaim
from gateway.auth.passwords import Passwords
from gateway.db import GatewayDatabase, utcnow
from gateway.references import application_reference
from gateway.rpc import RpcPool
from gateway.schemas import SubmitApplicationRequest
from shared import topology
from shared.contracts.envelope import make_message
from shared.messaging.bus import PipelinedPublisher, declare_queues, retry_delays

# Fixed, printed by `make run`: the account that submitted every sample application.
DEMO_FAMILIES = {"phone": "0900000000", "password": "demo-families-2027"}


def sample_applications(path: Path) -> Iterator[dict[str, Any]]:
    """The demo city's applications file, one JSON body of `POST /applications` a line."""
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def load_sample_applications(config: dict[str, Any], path: Path, wait: float = 60) -> int:
    """Claim and submit every sample application not claimed yet; how many were submitted.
    Waits up to `wait` seconds for registration to know their rounds (it hears of them from
    allocation's `round_opened` just after both start)."""
    if config.get("ENVIRONMENT", "development") != "development":
        raise SystemExit("sample applications exist in development only")
    schema = SubmitApplicationRequest()  # what POST /applications loads a body with
    secret = config["REFERENCE_SECRET"]
    forms = {}
    for body in sample_applications(path):
        form = schema.load(body)
        forms[application_reference(secret, form["round_id"], form["child"]["citizen_id"])] = form
    database = GatewayDatabase(config["GATEWAY_DB_URI"], pool_size=1)
    rpc = RpcPool({"AMQP_URI": config["AMQP_URI"]}, size=1, timeout=10)
    try:
        with database.session() as session:
            owner = _families_account(session)
            for reference in _claimed(session, list(forms)):
                del forms[reference]
        if not forms:
            return 0
        with rpc.cluster() as services:
            services.notification.set_preferences(owner, "vi", False, False)  # inbox only
            _wait_for_rounds(services, {form["round_id"] for form in forms.values()}, wait)
        # Published before the claims commit: if the commit fails, the next load sends the
        # same children again, which registration takes as unchanged resubmissions.
        with database.session() as session:
            fresh = _claim(session, owner, forms)
            if fresh:
                _publish(config, fresh)
    finally:
        rpc.close()
        database.dispose()
    return len(fresh)


def _wait_for_rounds(services: Any, rounds: set[str], wait: float) -> None:
    deadline = time.monotonic() + wait
    while not rounds <= set(services.registration.open_rounds()):
        if time.monotonic() > deadline:
            raise SystemExit(f"registration has not seen the rounds {sorted(rounds)} open")
        time.sleep(0.5)


def _publish(config: dict[str, Any], commands: list[dict[str, Any]]) -> None:
    settings = topology.queue_settings(config)
    queue = topology.command_queue("registration", "submit_application", settings)
    declare_queues(config["AMQP_URI"], [queue], retry_delays(config), settings)
    publisher = PipelinedPublisher(config["AMQP_URI"])
    try:
        publisher.publish([(topology.COMMANDS.name, queue.name, c) for c in commands])
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


def _claims() -> Table:
    table = ApplicationClaim.__table__
    assert isinstance(table, Table)
    return table


def _claimed(session: Session, references: list[str]) -> set[str]:
    table = _claims()
    return set(session.scalars(select(table.c.reference).where(table.c.reference.in_(references))))


def _claim(session: Session, owner: str, forms: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The `submit_application` commands of the children this call claimed."""
    table = _claims()
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    rows = [
        {"reference": ref, "owner_id": owner, "round_id": form["round_id"], "claimed_at": utcnow()}
        for ref, form in sorted(forms.items())
    ]
    statement = insert(table).on_conflict_do_nothing().returning(table.c.reference)
    claimed = set(session.scalars(statement, rows))
    now = datetime.now(UTC)
    return [
        make_message(
            "submit_application",
            {**forms[ref], "reference": ref, "submitted_at": now, "owner_id": owner},
        )
        for ref in sorted(claimed)
    ]

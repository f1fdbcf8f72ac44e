"""Object-level checks inside views: a parent's own applications, a staff member's own school.

Anything not theirs answers exactly as a missing object would (404, same code and message),
so a guessed reference or school code tells nothing about whether it exists.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, cast

from flask import current_app, g
from sqlalchemy import Connection, Table, delete, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from gateway.auth.models import ApplicationClaim
from gateway.auth.roles import Principal
from gateway.backends import current_backends
from gateway.db import utcnow
from gateway.errors import ApiError, not_found
from gateway.groupcommit import SharedTransaction


def current_principal() -> Principal:
    """The account of this request (set by the guard on every non-public route)."""
    principal = g.get("principal")
    if principal is None:
        raise RuntimeError("current_principal() on a public route")
    return principal


REFERENCE = re.compile(r"^[A-Z0-9]{8,32}$")


def owned_application(reference: str) -> dict[str, Any]:
    """The parent's own application; someone else's, or none, is the same 404."""
    if not REFERENCE.match(reference):  # could not name an application: no need to ask
        raise not_found("ApplicationNotFound")
    with current_backends().rpc.cluster() as rpc:
        application: dict[str, Any] = rpc.registration.get_application(reference)
    if application.get("owner_id") != current_principal().account_id:
        raise not_found("ApplicationNotFound")
    return application


def own_school(code: str) -> None:
    """Staff may act on their own school only; any other code is as unknown as a wrong one."""
    if not current_principal().is_staff_of(code):
        raise not_found("SchoolNotFound")


class Claims:
    """The first account to submit each child's application, written by group commit: the
    claims (and audit entries) of requests arriving together share one transaction."""

    def __init__(self, writes: SharedTransaction) -> None:
        self._writes = writes
        writes.register("claim", self._claim_many)

    def claim(self, reference: str, owner_id: str, round_id: str) -> str:
        """Claim the child's `reference` for `owner_id` unless claimed; the holder's id."""
        holder: str = self._writes("claim", (reference, owner_id, round_id))
        return holder

    @staticmethod
    def _claim_many(connection: Connection, claims: list[tuple[str, str, str]]) -> list[str]:
        """Claim `(reference, owner_id, round_id)` where unclaimed; each reference's holder."""
        table = cast(Table, ApplicationClaim.__table__)
        wanted = {reference: (owner, round_id) for reference, owner, round_id in reversed(claims)}
        now = utcnow()
        rows = [  # in key order: batches written at once then lock rows in the same order
            (ref, owner, round_id, now) for ref, (owner, round_id) in sorted(wanted.items())
        ]
        if connection.dialect.name == "postgresql":
            fresh = _insert_claims(connection, [row[:3] for row in rows], now)
        else:
            columns = ("reference", "owner_id", "round_id", "claimed_at")
            statement = sqlite_insert(table).on_conflict_do_nothing().returning(table.c.reference)
            fresh = set(
                connection.scalars(
                    statement, [dict(zip(columns, row, strict=True)) for row in rows]
                )
            )
        holders = {ref: wanted[ref][0] for ref in fresh}
        earlier = [ref for ref in wanted if ref not in fresh]  # claimed before this batch
        if earlier:
            query = select(table.c.reference, table.c.owner_id)
            query = query.where(table.c.reference.in_(earlier))
            holders.update(connection.execute(query).tuples().all())
        return [holders[reference] for reference, _, _ in claims]


# One statement per batch, through the driver: at the peak every submission waits for this
# write, and building and compiling it with SQLAlchemy cost more CPU than the insert itself
# (a profile of the gateway's submission path in process: the claim was a fifth of its CPU).
# The rows travel as three arrays, which the driver quotes in C: quoting each row as a tuple
# (psycopg2's execute_values) cost ~13 µs of a worker's CPU per row, more than the round trip
# of a batch of ten. The position keeps the key order the rows are written (and locked) in.
CLAIM_SQL = (
    "INSERT INTO application_claims (reference, owner_id, round_id, claimed_at)"
    " SELECT reference, owner_id, round_id, %s"
    " FROM unnest(%s::text[], %s::text[], %s::text[])"
    " WITH ORDINALITY AS claim (reference, owner_id, round_id, position)"
    " ORDER BY position ON CONFLICT DO NOTHING RETURNING reference"
)


def _insert_claims(
    connection: Connection, rows: list[tuple[str, str, str]], now: datetime
) -> set[str]:
    """Insert the `(reference, owner_id, round_id)` rows that are not there yet, claimed
    `now`; their keys."""
    references, owners, rounds = zip(*rows, strict=True)
    cursor = connection.connection.cursor()
    try:
        cursor.execute(CLAIM_SQL, (now, list(references), list(owners), list(rounds)))
        fresh = cursor.fetchall()
    finally:
        cursor.close()
    return {reference for (reference,) in fresh}


def claim_application(reference: str, round_id: str, owner: str | None = None) -> None:
    """`claim_for` this app's claims, for `owner` (default: the request's account)."""
    owner = owner or current_principal().account_id
    claim_for(current_app.extensions["claims"], reference, round_id, owner)


def claim_for(claims: Claims, reference: str, round_id: str, owner: str) -> None:
    """Bind a child's application in a round to the first account that submits it.

    Later submissions of the same child (same reference) from that account amend it; from
    any other account they are refused with 409, before anything is published. The claim
    is made here, atomically (primary key), not by asking registration: the first
    submission may still be waiting in the queue, and a submission must not cost an RPC.
    A help desk claims it for the family's account (`owner`).
    """
    if claims.claim(reference, owner, round_id) != owner:
        raise ApiError(
            409,
            "registered_by_another_account",
            "This child already has an application in this round, made from another "
            "account. Sign in with that account, or ask the school to help.",
        )


def forget_claims(round_id: str) -> int:
    """Delete every claim of a round (a wiped practice round); how many there were."""
    with current_app.extensions["db"].session() as session:
        gone = session.execute(
            delete(ApplicationClaim).where(ApplicationClaim.round_id == round_id)
        )
    return int(gone.rowcount or 0)

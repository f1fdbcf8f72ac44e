"""Object-level checks inside views: a parent's own applications, a staff member's own school.

Anything not theirs answers exactly as a missing object would (404, same code and message),
so a guessed reference or school code tells nothing about whether it exists.
"""

from __future__ import annotations

import re
from typing import Any

from flask import current_app, g
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from gateway.auth.models import ApplicationClaim
from gateway.auth.roles import Principal
from gateway.db import utcnow
from gateway.errors import ApiError, not_found


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
    with current_app.extensions["tuyensinh"].rpc.cluster() as rpc:
        application: dict[str, Any] = rpc.registration.get_application(reference)
    if application.get("owner_id") != current_principal().account_id:
        raise not_found("ApplicationNotFound")
    return application


def own_school(code: str) -> None:
    """Staff may act on their own school only; any other code is as unknown as a wrong one."""
    if not current_principal().is_staff_of(code):
        raise not_found("SchoolNotFound")


def claim_application(reference: str, round_id: str) -> None:
    """Bind a child's application in a round to the first account that submits it.

    Later submissions of the same child (same reference) from that account amend it; from
    any other account they are refused with 409, before anything is published. The claim
    is made here, atomically (primary key), not by asking registration: the first
    submission may still be waiting in the queue, and a submission must not cost an RPC.
    """
    owner = current_principal().account_id
    db = current_app.extensions["db"]
    try:
        with db.session() as session:
            claim = session.get(ApplicationClaim, reference)
            if claim is None:
                session.add(
                    ApplicationClaim(
                        reference=reference, owner_id=owner, round_id=round_id, claimed_at=utcnow()
                    )
                )
                return  # committed on the way out; a concurrent claim fails right there
            holder = claim.owner_id
    except IntegrityError:  # another worker claimed it a moment ago: read whose it is
        with db.session() as session:
            holder = session.scalar(
                select(ApplicationClaim.owner_id).where(ApplicationClaim.reference == reference)
            )
    if holder != owner:
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

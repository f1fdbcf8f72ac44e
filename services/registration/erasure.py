"""Erasure on request: a parent asks, the retention rule erases, the other services follow.

A request withdraws the application if its round is still open and records when it was
asked. The retention rule (`erase_due`, run by the service's timer and by this module's
command line) erases an application once its round has closed and the retention period has
passed since the request: the child's name, birth date, citizen ID, residence ward,
household and priority category and the guardian's name, phone and e-mail become NULL. The
row stays, with its reference, round, status and preferences, so the round's counts do not
move; `application_erased` leaves through the outbox so allocation and notification erase
their copies too. The population register itself is the state's record, not the parent's
submission, and is not touched.

Usage: python -m services.registration.erasure [--retention-days N]   # run the rule once
"""

from __future__ import annotations

import argparse
import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.registration import store
from services.registration.corrections import requests as corrections
from services.registration.domain import Refusal
from services.registration.exceptions import ApplicationNotFound
from services.registration.models import Application, RoundView
from shared.config import load_config
from shared.db.engine import build_engine
from shared.db.migrate import service_config_path
from shared.db.outbox import stage_event, stage_events

log = logging.getLogger(__name__)

PERSONAL = (
    "citizen_id",
    "child_name",
    "date_of_birth",
    "guardian_name",
    "guardian_phone",
    "guardian_email",
    "ward_code",
    "household_id",
    "priority_category",
)
# Statuses whose application may be erased once its round has closed: the child holds no
# seat and no waitlist place (while the round is open, any application may: it is withdrawn).
ERASABLE_STATUSES = frozenset(
    {"withdrawn", "rejected", "refused", "unplaced", "declined", "expired", "school_rejected"}
)


def request_erasure(session: Session, reference: str, correlation_id: str, now: datetime) -> bool:
    """Record a parent's request made (stamped by the gateway) at `now`; False if the child
    holds a seat or a waitlist place in a closed round, which has to be declined first: the
    refusal is kept on the application and announced, as every refusal after a 202 is."""
    application = session.get(Application, reference, with_for_update=True)
    if application is None:
        raise ApplicationNotFound(reference)
    if _round_open(session, application.round_id):
        store.withdraw(session, reference, now, correlation_id)
    elif application.status not in ERASABLE_STATUSES:
        log.warning("erasure of %s refused: it is %s", reference, application.status)
        refusal = Refusal("erasure", "holds_a_place", now)
        stage_event(session, store.SERVICE, store.refuse(application, refusal, correlation_id))
        return False
    if application.erasure_requested_at is None:
        application.erasure_requested_at = now
    return True


def holding_a_place(session: Session, references: list[str]) -> list[str]:
    """Of `references`, the applications whose erasure would be refused now (the child holds
    a seat or a waitlist place in a round no longer open): the gateway asks before it sends
    a request, so the parent hears it at once; `request_erasure` decides again."""
    query = select(Application).where(Application.reference.in_(references))
    return [
        a.reference
        for a in session.scalars(query.order_by(Application.reference))
        if a.status not in ERASABLE_STATUSES and not _round_open(session, a.round_id)
    ]


def _round_open(session: Session, round_id: str) -> bool:
    round_view = session.get(RoundView, round_id)
    return round_view is not None and round_view.status == "open"


def erase_due(session: Session, now: datetime, retention: timedelta, limit: int = 500) -> int:
    """Erase up to `limit` applications whose erasure is due; how many were erased."""
    closed = select(RoundView.round_id).where(RoundView.status != "open")
    query = (
        select(Application)
        .where(
            Application.erasure_requested_at <= now - retention,
            Application.erased_at.is_(None),
            Application.status.in_(ERASABLE_STATUSES),
            Application.round_id.in_(closed),
        )
        .order_by(Application.erasure_requested_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    events = []
    for application in session.scalars(query):
        anonymise(application, now)
        events.append(store.event_about("application_erased", application, application.reference))
    # The family's words and evidence of any correction request go too.
    corrections.erase(session, [event["payload"]["reference"] for event in events])
    stage_events(session, store.SERVICE, events)
    return len(events)


def anonymise(application: Application, now: datetime) -> None:
    """Blank every personal field in place; reference, round, status and preferences stay."""
    for name in PERSONAL:
        setattr(application, name, None)
    application.erased_at = application.updated_at = now


def main() -> None:
    """Run the retention rule once against the database in the service's config."""
    parser = argparse.ArgumentParser(description=__doc__)
    config = load_config(service_config_path("registration"))
    parser.add_argument(
        "--retention-days", type=float, default=float(config["ERASURE_RETENTION_DAYS"])
    )
    args = parser.parse_args()
    engine = build_engine(config["DB_URI"])
    retention, total = timedelta(days=args.retention_days), 0
    with Session(engine) as session:
        while erased := erase_due(session, datetime.now(UTC), retention):
            session.commit()
            total += erased
    print(f"erased {total} applications; the running service relays the events")  # noqa: T201


if __name__ == "__main__":
    main()

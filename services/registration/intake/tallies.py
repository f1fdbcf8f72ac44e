"""The live window's running counts, kept in the same transaction as the applications.

At each flush, every application inserted, changed or deleted moves its round's counts:
by status, by residence ward, by rejection reason (what the round holds now), and the
submissions and verdicts of each UTC minute (what happened when). Whatever code path changed
an application (the intake, the sweep, an amendment, a withdrawal, an outcome), the counts
follow, and a rollback takes them back with it. One upsert per flush (shared.db.counts): the
department's live page reads a few hundred small rows, never a quarter of a million
applications.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, delete, event, func, inspect, select
from sqlalchemy.orm import Session

from services.registration.models import Application, LiveTally
from shared.db.counts import add_counts, minute_of

Key = tuple[str, str, str]  # round, series, key
TABLE = cast(Table, LiveTally.__table__)
CHECKED = ("verified", "rejected")
NOT_COUNTED_IN_WARDS = ("withdrawn", "refused")
FIELDS = ("status", "ward_code", "rejection_reasons")
PENDING = "tuyensinh.live_tallies_pending"


def state_counts(round_id: str, values: Mapping[str, Any]) -> Counter[Key]:
    """The counts one application in this state adds to its round."""
    status, ward = values["status"], values["ward_code"]
    counts: Counter[Key] = Counter({(round_id, "status", status): 1})
    if ward and status not in NOT_COUNTED_IN_WARDS:
        counts[(round_id, "ward", ward)] += 1
    if status == "rejected":
        codes = {str(reason["code"]) for reason in values["rejection_reasons"] or ()}
        counts.update({(round_id, "reason", code): 1 for code in codes})
    return counts


def changes(session: Session, now: datetime) -> Counter[Key]:
    """How the applications this flush writes move their rounds' counts."""
    moved: Counter[Key] = Counter()
    for application in _applications(session.new):
        new = _values(application)
        moved.update(state_counts(application.round_id, new))
        moved[(application.round_id, "submitted", minute_of(application.submitted_at))] += 1
        if new["status"] in CHECKED:
            moved[(application.round_id, "checked", minute_of(now))] += 1
    dirty, deleted = _applications(session.dirty), _applications(session.deleted)
    stored = _stored(session, dirty + deleted)
    for application in dirty:
        old, new = _old_values(application, stored), _values(application)
        if application.erased_at is not None:
            new["ward_code"] = old["ward_code"]  # erasure blanks the ward, not the counts
        moved.update(state_counts(application.round_id, new))
        moved.subtract(state_counts(application.round_id, old))
        if new["status"] != old["status"] and new["status"] in CHECKED:
            moved[(application.round_id, "checked", minute_of(now))] += 1
    for application in deleted:
        moved.subtract(state_counts(application.round_id, _old_values(application, stored)))
        moved[(application.round_id, "submitted", minute_of(application.submitted_at))] -= 1
    return moved


def write(session: Session, moved: Mapping[Key, int]) -> None:
    """Add `moved` to the stored counts, in one statement."""
    add_counts(session, TABLE, moved)


def forget_round(session: Session, round_id: str) -> None:
    """A wiped practice round's counts go with its applications."""
    session.execute(delete(LiveTally).where(LiveTally.round_id == round_id))


def recount_statements(dialect: str) -> list[str]:
    """SQL that counts the applications already stored into empty tallies (by status, ward,
    reason and minute of submission; verdicts per minute cannot be rebuilt): the migration
    that created the table runs it, and so does a bulk load that bypasses the ORM."""
    postgres = dialect == "postgresql"
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
    selects = (
        "SELECT round_id, 'status', status, count(*) FROM applications GROUP BY 1, 3",
        "SELECT round_id, 'ward', ward_code, count(*) FROM applications WHERE ward_code IS NOT"
        " NULL AND status NOT IN ('withdrawn', 'refused') GROUP BY 1, 3",
        f"SELECT round_id, 'submitted', {minute}, count(*) FROM applications GROUP BY 1, 3",
        f"SELECT round_id, 'reason', code, count(DISTINCT reference) FROM (SELECT a.round_id,"
        f" a.reference, {code} AS code FROM applications AS a, {reasons}"
        " WHERE a.status = 'rejected') AS found GROUP BY 1, 3",
    )
    return [f"INSERT INTO live_tallies (round_id, series, key, n) {select}" for select in selects]


def live_counts(session: Session, round_id: str, now: datetime, minutes: int) -> dict[str, Any]:
    """A round's counts: by status, ward and reason, and per minute over the last `minutes`
    (submissions and verdicts; the minutes without any are left out)."""
    since = minute_of(now - timedelta(minutes=minutes))
    query = select(LiveTally.series, LiveTally.key, LiveTally.n).where(
        LiveTally.round_id == round_id,
        LiveTally.series.in_(("status", "ward", "reason")),
    )
    found: dict[str, dict[str, int]] = {"status": {}, "ward": {}, "reason": {}}
    for series, key, n in session.execute(query):
        if n:
            found[series][key] = int(n)
    recent = select(LiveTally.series, LiveTally.key, LiveTally.n).where(
        LiveTally.round_id == round_id,
        LiveTally.series.in_(("submitted", "checked")),
        LiveTally.key >= since,
    )
    minutes_of: dict[str, list[list[Any]]] = {"submitted": [], "checked": []}
    for series, key, n in session.execute(recent.order_by(LiveTally.series, LiveTally.key)):
        minutes_of[series].append([key, int(n)])
    total = select(func.coalesce(func.sum(LiveTally.n), 0)).where(
        LiveTally.round_id == round_id, LiveTally.series == "submitted"
    )
    return {
        "round_id": round_id,
        "submitted": int(session.scalar(total) or 0),
        "statuses": found["status"],
        "wards": found["ward"],
        "reasons": found["reason"],
        "submitted_per_minute": minutes_of["submitted"],
        "checked_per_minute": minutes_of["checked"],
    }


def _applications(objects: Iterable[Any]) -> list[Application]:
    return [o for o in objects if isinstance(o, Application)]


def _values(application: Application) -> dict[str, Any]:
    return {name: getattr(application, name) for name in FIELDS}


def _old_values(application: Application, stored: Mapping[str, Any]) -> dict[str, Any]:
    attributes = inspect(application).attrs
    values = {}
    for name in FIELDS:
        history = attributes[name].history
        before = history.deleted or history.unchanged
        values[name] = before[0] if before else stored[application.reference][name]
    return values


def _stored(session: Session, applications: list[Application]) -> dict[str, dict[str, Any]]:
    # The values as stored, for an application whose old value was never loaded (set without
    # being read first, or unset since it was inserted): the flush has not written them yet.
    unknown = [
        application.reference
        for application in applications
        if any(not _known(application, name) for name in FIELDS)
    ]
    if not unknown:
        return {}
    columns = [Application.reference, *(getattr(Application, name) for name in FIELDS)]
    query = select(*columns).where(Application.reference.in_(unknown))
    return {row.reference: row._asdict() for row in session.execute(query)}


def _known(application: Application, name: str) -> bool:
    history = inspect(application).attrs[name].history
    return bool(history.deleted or history.unchanged)


# Counted before the flush (the database still holds the old values, if one must be read)
# and written after its own writes: the counts' rows are then the last ones the transaction
# locks before its commit.
@event.listens_for(Session, "before_flush")
def _count_changes(session: Session, flush_context: Any, instances: Any) -> None:
    # Replaced, never added to: what a failed flush counted is not carried into the next one.
    session.info[PENDING] = changes(session, datetime.now(UTC))


@event.listens_for(Session, "after_flush")
def _write_changes(session: Session, flush_context: Any) -> None:
    moved = session.info.pop(PENDING, None)
    if moved:
        write(session, moved)

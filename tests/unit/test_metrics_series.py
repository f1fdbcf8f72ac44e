"""Counting on commit, and the series registration derives from its committed events."""

from __future__ import annotations

from prometheus_client import Counter
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from services.registration import metrics as registration
from shared.metrics.oncommit import count_events, count_on_commit


def _value(counter: Counter, **labels: str) -> float:
    child = counter.labels(**labels) if labels else counter
    return float(child._value.get())


def test_a_count_lands_only_when_its_transaction_commits() -> None:
    counter = Counter("test_oncommit_things", "things", ["kind"], registry=None)
    engine = create_engine("sqlite://")
    with Session(engine) as session:
        session.execute(text("SELECT 1"))
        count_on_commit(session, counter, {"kind": "a"}, 2)
        assert _value(counter, kind="a") == 0
        session.rollback()  # a failed batch: counted nothing, and never later
        session.execute(text("SELECT 1"))
        session.commit()
        assert _value(counter, kind="a") == 0
        count_on_commit(session, counter, {"kind": "a"}, 3)
        session.execute(text("SELECT 1"))
        session.commit()
        session.commit()  # a second commit does not count it again
    assert _value(counter, kind="a") == 3


def test_registration_counts_stored_verified_rejected_and_refused_from_its_events() -> None:
    before = {
        "stored": _value(registration.STORED),
        "rejected": _value(registration.REJECTED),
        "name": _value(registration.REJECTION_REASONS, reason="name_mismatch"),
        "age": _value(registration.REJECTION_REASONS, reason="too_young"),
        "refused": _value(registration.REFUSED, reason="round_closed"),
    }
    reasons = [
        {"field": "child.full_name", "code": "name_mismatch"},
        {"field": "child.date_of_birth", "code": "too_young"},
        {"field": "preferences.0", "code": "too_young"},
    ]
    events = [
        {"type": "application_received", "payload": {}},
        {"type": "application_received", "payload": {}},
        {"type": "application_rejected", "payload": {"reasons": reasons}},
        {"type": "application_refused", "payload": {"reference": "TS1"}},
    ]
    engine = create_engine("sqlite://")
    with Session(engine) as session:
        session.execute(text("SELECT 1"))
        count_events(session, "registration", events)
        session.commit()

    assert _value(registration.STORED) - before["stored"] == 2
    assert _value(registration.REJECTED) - before["rejected"] == 1
    # One application, two distinct reasons: each counted once.
    name = _value(registration.REJECTION_REASONS, reason="name_mismatch") - before["name"]
    age = _value(registration.REJECTION_REASONS, reason="too_young") - before["age"]
    assert (name, age) == (1, 1)
    assert _value(registration.REFUSED, reason="round_closed") - before["refused"] == 1

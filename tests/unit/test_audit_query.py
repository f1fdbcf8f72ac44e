"""The audit search over two tables: pages that end at a cursor lose and repeat nothing,
even when entries of both tables share an instant."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import create_engine, insert
from sqlalchemy.orm import Session

from gateway.audit import AuditEntry
from gateway.db import Base as GatewayBase
from services.registration.intake.audit import SubmissionAudit, audit_entries
from services.registration.models import Base as RegistrationBase
from shared.auditquery import AuditQuery, Cursor, as_row, cursor_of, filtered, merged

T0 = datetime(2027, 6, 1, 8, 0, tzinfo=UTC)


def entry(at: datetime, action: str, reference: str) -> dict[str, Any]:
    return {
        "at": at,
        "actor_id": "a" * 36,
        "role": "parent",
        "action": action,
        "objects": {"reference": reference},
        "status": 202,
        "ip": None,
        "correlation_id": None,
    }


@pytest.fixture
def tables() -> tuple[Session, Session]:
    gateway, registration = create_engine("sqlite://"), create_engine("sqlite://")
    GatewayBase.metadata.create_all(gateway, tables=[AuditEntry.__table__])
    RegistrationBase.metadata.create_all(registration, tables=[SubmissionAudit.__table__])
    mine, theirs = Session(gateway), Session(registration)
    # Three instants; at each, entries in both tables.
    for i in range(3):
        at = T0 + timedelta(seconds=i)
        mine.execute(
            insert(AuditEntry), [entry(at, "intake.read", f"TSREF{i:04d}G{k}") for k in range(2)]
        )
        theirs.execute(
            insert(SubmissionAudit),
            [entry(at, "application.submit", f"TSREF{i:04d}R{k}") for k in range(2)],
        )
    return mine, theirs


def page(tables: tuple[Session, Session], query: AuditQuery, limit: int) -> list[dict[str, Any]]:
    mine, theirs = tables
    local = [
        as_row(e, "gateway")
        for e in mine.scalars(filtered(AuditEntry, "gateway", "sqlite", query, limit))
    ]
    return merged([local, audit_entries(theirs, query, limit)], limit)


def test_pages_of_three_see_every_entry_once_newest_first(tables: tuple[Session, Session]) -> None:
    seen: list[dict[str, Any]] = []
    query = AuditQuery()
    while rows := page(tables, query, 3):
        seen += rows
        query = replace(query, after=cursor_of(rows[-1]))
    assert len(seen) == 12
    assert len({(r["source"], r["id"]) for r in seen}) == 12
    instants = [r["at"] for r in seen]
    assert instants == sorted(instants, reverse=True)
    # Within an instant: the gateway's entries first, each table's newest id first.
    first = [(r["source"], r["id"]) for r in seen[:4]]
    assert first == [("gateway", 6), ("gateway", 5), ("registration", 6), ("registration", 5)]


def test_filters_reach_both_tables(tables: tuple[Session, Session]) -> None:
    only = page(tables, AuditQuery(reference="TSREF0001R0"), 50)
    assert [(r["source"], r["action"]) for r in only] == [("registration", "application.submit")]
    since = page(tables, AuditQuery(since=T0 + timedelta(seconds=2)), 50)
    assert len(since) == 4
    assert page(tables, AuditQuery(action="intake.read", until=T0 + timedelta(seconds=1)), 50)[0][
        "objects"
    ] == {"reference": "TSREF0000G1"}


def test_a_cursor_and_a_query_cross_the_wire_unchanged() -> None:
    cursor = Cursor(T0, "registration", 41)
    assert Cursor.decode(cursor.encode()) == cursor
    query = AuditQuery(reference="TSX", since=T0, after=cursor)
    assert AuditQuery.from_wire(query.to_wire()) == query
    with pytest.raises(ValueError):
        Cursor.decode("2027-06-01T08:00:00+00:00~elsewhere~1")

"""The allocation service's test harness: the running service in a nameko container, its
database, and registration's side of the wire played over the real transport.

Registration's events are published onto the broker exactly as its outbox relay publishes
them, and its RPCs are answered by `FakeRegistration`, a test-only nameko service named
"registration" whose answers each test sets. The real registration service has its own
tests. The `harness` fixture (tests/integration/conftest.py) starts both.
"""

from __future__ import annotations

from typing import Any

from nameko.rpc import rpc
from nameko.testing.services import entrypoint_hook, entrypoint_waiter
from sqlalchemy.orm import Session

from services.allocation.models import Placement, School, Ward
from shared.contracts.envelope import make_message
from shared.db.engine import build_engine
from shared.messaging.bus import MessageBus
from tests.support.broker import drain

ROUND = "2027-grade_1"


class ApplicationNotFound(Exception):
    """Registration's answer for a reference it does not know (matched by name, as RPC does)."""


class FakeRegistration:
    """Answers registration's `intake_status` and `applications_per_hour` as the test says,
    and `get_application` with the owning account only (what the gateway's ownership check
    reads); it stands in for the other service's RPC, over the real transport."""

    name = "registration"
    answer: dict[str, int] = {"unverified": 0, "backlog": 0}
    owners: dict[str, str] = {}
    hours: list[list[Any]] = [["2027-06-01T01:00:00+00:00", 3]]

    @rpc
    def intake_status(self, round_id: str) -> dict[str, Any]:
        """The intake of a round, as set by the test."""
        return {"round_id": round_id, **FakeRegistration.answer}

    @rpc
    def applications_per_hour(self, round_id: str) -> list[list[Any]]:
        """The round's applications per hour, as set by the test."""
        return FakeRegistration.hours

    @rpc
    def applications_received(self, round_id: str) -> int:
        """The round's applications so far: those of the hours set by the test."""
        return sum(count for _, count in FakeRegistration.hours)

    @rpc(expected_exceptions=ApplicationNotFound)
    def get_application(self, reference: str) -> dict[str, Any]:
        """The application's owner, as set by the test."""
        if reference not in FakeRegistration.owners:
            raise ApplicationNotFound(reference)
        return {"reference": reference, "owner_id": FakeRegistration.owners[reference]}


class Harness:
    """The running allocation service, its database, and registration's side of the wire."""

    def __init__(self, container: Any, db_uri: str, bus: MessageBus, amqp_uri: str) -> None:
        self.container, self.bus, self.amqp_uri = container, bus, amqp_uri
        self.engine = build_engine(db_uri)

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call one RPC entrypoint in the container."""
        with entrypoint_hook(self.container, method) as entrypoint:
            return entrypoint(*args, **kwargs)

    def verdict(self, event_type: str, reference: str, **payload: Any) -> dict[str, Any]:
        """Publish one of registration's verdicts and wait until allocation has applied it."""
        body = {"reference": reference, "round_id": payload.pop("round_id", ROUND), **payload}
        envelope = make_message(event_type, body)
        with entrypoint_waiter(self.container, "handle_application_event"):
            self.bus.publish_event("registration", envelope)
        return envelope

    def verify(self, reference: str, citizen_id: str, ward: str, *prefs: str, **extra: Any) -> None:
        """`application_verified` for a child living in `ward` who ranked `prefs`."""
        payload = {"citizen_id": citizen_id, "ward_code": ward, "household_id": f"H{citizen_id}"}
        payload.update(priority_category=extra.pop("category", None), preferences=list(prefs))
        self.verdict("application_verified", reference, **payload, **extra)

    def run_job(self, method: str, round_id: str = ROUND) -> dict[str, Any]:
        """Request the allocate or publish job and wait until it has run."""
        with entrypoint_waiter(self.container, "handle_round_job_requested", timeout=30):
            self.call(method, round_id)
        answer: dict[str, Any] = self.call("get_round", round_id)
        assert answer["job"] is None, answer["job_error"]
        return answer

    def session(self) -> Session:
        """A session on the service's database, for looking at what it stored."""
        return Session(self.engine)

    def placement(self, reference: str) -> Placement:
        """One child's stored result and seat."""
        with self.session() as session:
            row = session.get(Placement, reference)
            assert row is not None
            return row


def add_schools(harness: Harness, *schools: tuple[str, int, str]) -> None:
    """Grade-1 schools (code, capacity, the one ward it serves)."""
    with harness.session() as session, session.begin():
        for code, capacity, ward in schools:
            session.merge(Ward(code=ward, name=f"Phường {ward}"))
            session.add(
                School(
                    code=code,
                    name=code,
                    level="grade_1",
                    capacity=capacity,
                    ward_code=ward,
                    catchment=[ward],
                )
            )


def open_round(harness: Harness, **options: Any) -> None:
    """Create and open the 2027 grade-1 round."""
    harness.call("create_round", "grade_1", 2027, **options)
    harness.call("open_round", options.get("round_id", ROUND))


def ladder(harness: Harness, **options: Any) -> None:
    """Schools A and B, one seat each, decided by catchment alone (whatever the seed):
    P (A's ward, priority category) gets A; Q (B's ward) ranks A first, gets B, waits at A;
    R (a ward no school serves) ranks B only, gets nothing and waits at B."""
    add_schools(harness, ("SCH-A", 1, "00001"), ("SCH-B", 1, "00002"))
    open_round(harness, **options)
    harness.verify("TSP0000000001", "001200000001", "00001", "SCH-A", category="policy")
    harness.verify("TSQ0000000001", "001200000002", "00002", "SCH-A", "SCH-B")
    harness.verify("TSR0000000001", "001200000003", "00009", "SCH-B")
    harness.call("close_round", ROUND)
    harness.run_job("allocate")
    harness.run_job("publish")


def events(harness: Harness, queue: Any, expect: int, timeout: float = 10) -> list[dict[str, Any]]:
    """Payloads of `expect` events from a tap (fewer if they do not come within `timeout`)."""
    received = drain(harness.amqp_uri, queue.name, expect=expect, timeout=timeout)
    return [body["payload"] for body, _ in received]

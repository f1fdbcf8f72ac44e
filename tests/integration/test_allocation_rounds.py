"""A round's lifecycle in the allocation service, in a real nameko container on the real
broker and PostgreSQL: the projection of registration's verdicts, close, the refusals of
allocate, the allocate and publish jobs, and the events each step announces.

Registration's side of the contract is played two ways, both over the real transport:
its events are published onto the broker exactly as its outbox relay publishes them, and
its `intake_status` RPC is answered by `FakeRegistration`, a test-only nameko service named
"registration" whose answer each test sets. The real registration service has its own tests.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from kombu import Connection
from nameko.standalone.rpc import ClusterRpcProxy
from nameko.testing.services import entrypoint_hook, entrypoint_waiter
from prometheus_client import REGISTRY
from sqlalchemy import select, update

from services.allocation.exceptions import (
    IntakeNotComplete,
    InvalidTransition,
    RoundBusy,
    RoundNotSettled,
)
from services.allocation.models import Placement, Round, School, VerifiedApplication, Ward
from services.allocation.service import AllocationService
from shared import topology
from shared.contracts.envelope import make_message
from tests.support.allocation_harness import (
    ROUND,
    FakeRegistration,
    Harness,
    add_schools,
    events,
    ladder,
    open_round,
)
from tests.support.broker import tap
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration

OUTCOMES = ("seat_offered", "application_waitlisted", "application_unplaced")


def test_verdicts_are_projected_and_the_newest_one_wins(harness: Harness) -> None:
    harness.verify("TSAMEND000001", "001200000001", "00001", "SCH-A")
    harness.verify("TSAMEND000001", "001200000001", "00002", "SCH-B", "SCH-A")
    late = make_message(
        "application_rejected",
        {"reference": "TSAMEND000001", "round_id": ROUND, "reasons": []},
    )
    late["occurred_at"] = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    with entrypoint_waiter(harness.container, "handle_application_event"):
        harness.bus.publish_event("registration", late)
    with harness.session() as session:
        row = session.get(VerifiedApplication, "TSAMEND000001")
        assert row is not None
        assert (row.state, row.ward_code, row.preferences) == (
            "verified",
            "00002",
            ["SCH-B", "SCH-A"],
        )

    harness.verdict("application_withdrawn", "TSAMEND000001")
    harness.verdict("application_rejected", "TSOTHER000001", reasons=[])
    with harness.session() as session:
        states = dict(
            session.execute(select(VerifiedApplication.reference, VerifiedApplication.state)).all()
        )
    assert states == {"TSAMEND000001": "withdrawn", "TSOTHER000001": "rejected"}


def test_a_verdict_delivered_twice_is_applied_once(harness: Harness) -> None:
    envelope = make_message(
        "application_verified",
        {
            "reference": "TSTWICE000001",
            "round_id": ROUND,
            "citizen_id": "001200000001",
            "ward_code": "00001",
            "household_id": "H1",
            "preferences": ["SCH-A"],
        },
    )
    harness.verdict("application_withdrawn", "TSTWICE000001")
    for _ in range(2):  # the stale verified is ignored however often it comes
        with entrypoint_waiter(harness.container, "handle_application_event"):
            harness.bus.publish_event("registration", envelope)
    with harness.session() as session:
        row = session.get(VerifiedApplication, "TSTWICE000001")
        assert row is not None and row.state == "withdrawn"


def test_closing_fixes_a_secret_seed_and_announces_it_closed(harness: Harness) -> None:
    closed = tap(harness.amqp_uri, "allocation", "round_closed")
    open_round(harness)

    answer = harness.call("close_round", ROUND)

    assert answer["status"] == "closed" and answer["seed"] is None
    with harness.session() as session:
        round_ = session.get(Round, ROUND)
        assert round_ is not None and round_.seed is not None and len(round_.seed) == 64
    [announced] = events(harness, closed, 1)
    assert announced["round_id"] == ROUND
    # Closed "now" (no notice here): the window ends at the close, and says so.
    assert announced["closes_at"] == answer["closes_at"]
    with pytest.raises(InvalidTransition):
        harness.call("close_round", ROUND)


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ({"unverified": 3, "backlog": 0}, "3 applications are not verified yet"),
        ({"unverified": 0, "backlog": 7}, "7 submissions wait in registration's queue"),
    ],
)
def test_allocate_is_refused_while_registration_has_not_finished(
    harness: Harness, answer: dict[str, int], reason: str
) -> None:
    open_round(harness)
    harness.call("close_round", ROUND)
    FakeRegistration.answer = answer

    with pytest.raises(IntakeNotComplete, match=reason):
        harness.call("allocate", ROUND)

    assert harness.call("get_round", ROUND)["status"] == "closed"


def test_allocate_is_refused_while_application_events_wait_for_allocation(
    harness: Harness,
) -> None:
    open_round(harness)
    harness.call("close_round", ROUND)
    parked = topology.dead_letter_queue("allocation.on.applications")
    with Connection(harness.amqp_uri) as connection:
        producer = connection.Producer()
        producer.publish({"a": "failed verdict"}, routing_key=parked.name, exchange="")

    with pytest.raises(IntakeNotComplete, match="1 application events wait"):
        harness.call("allocate", ROUND)


def test_allocate_is_refused_when_registration_does_not_answer(
    make_database: Callable[[str], str],
    container_factory: Any,
    service_config: Callable[..., dict[str, Any]],
) -> None:
    db_uri = make_database("allocation")
    config = service_config(db_uri, REGISTRATION_TIMEOUT_SECONDS=1)
    container = container_factory(AllocationService, config)  # no registration at all
    container.start()
    with entrypoint_hook(container, "create_round") as create:
        create("grade_1", 2027)
    for step in ("open_round", "close_round"):
        with entrypoint_hook(container, step) as call:
            call(ROUND)

    with (
        entrypoint_hook(container, "allocate") as allocate,
        pytest.raises(IntakeNotComplete, match="registration did not answer"),
    ):
        allocate(ROUND)


def test_allocate_previews_and_publish_announces_every_outcome(harness: Harness) -> None:
    taps = {kind: tap(harness.amqp_uri, "allocation", kind) for kind in OUTCOMES}
    ladder(harness)

    stats = harness.call("round_stats", ROUND)
    assert stats["statistics"]["applicants"] == 3
    assert stats["statistics"]["unplaced_by_reason"] == {
        "catchment_full": 0,
        "no_catchment_school": 1,
    }
    assert stats["statistics"]["fill_rate"] == {"SCH-A": 1.0, "SCH-B": 1.0}
    [offer_p, offer_q] = sorted(
        events(harness, taps["seat_offered"], 2), key=lambda e: e["reference"]
    )
    assert (offer_p["school_code"], offer_p["preference_rank"]) == ("SCH-A", 1)
    assert (offer_q["school_code"], offer_q["preference_rank"]) == ("SCH-B", 2)
    assert offer_p["moved_from"] is None and offer_p["deadline"]
    [waiting] = events(harness, taps["application_waitlisted"], 1)
    assert waiting == {
        "reference": "TSR0000000001",
        "round_id": ROUND,
        "positions": [{"school_code": "SCH-B", "position": 1}],
    }
    assert events(harness, taps["application_unplaced"], 1, timeout=1) == []


def test_publish_waits_for_a_fresh_preview_after_a_late_change(harness: Harness) -> None:
    add_schools(harness, ("SCH-A", 1, "00001"))
    open_round(harness)
    harness.verify("TSP0000000001", "001200000001", "00001", "SCH-A")
    harness.call("close_round", ROUND)
    harness.run_job("allocate")

    harness.verdict("application_withdrawn", "TSP0000000001")

    with pytest.raises(RoundBusy, match="changed since the preview"):
        harness.call("publish", ROUND)
    harness.run_job("allocate")
    assert harness.call("round_stats", ROUND)["statistics"]["applicants"] == 0


def test_allocating_again_keeps_the_committed_seed_and_digests_each_runs_inputs(
    harness: Harness,
) -> None:
    add_schools(harness, ("SCH-A", 1, "00001"))
    open_round(harness)
    harness.verify("TSP0000000001", "001200000001", "00001", "SCH-A")
    harness.verify("TSP0000000002", "001200000002", "00001", "SCH-A")
    closed = harness.call("close_round", ROUND)
    assert closed["seed_commitment"] and closed["input_digests"] == []
    with harness.session() as session:
        round_ = session.get(Round, ROUND)
        assert round_ is not None and round_.seed is not None
        seed = round_.seed
    assert hashlib.sha256(bytes.fromhex(seed)).hexdigest() == closed["seed_commitment"]

    harness.run_job("allocate")
    harness.verdict("application_withdrawn", "TSP0000000002")
    harness.run_job("allocate")

    public = harness.call("round_commitment", ROUND)
    first, second = public["input_digests"]
    assert (first["applications"], second["applications"]) == (2, 1)
    assert first["digest"] != second["digest"]
    assert public["seed_commitment"] == closed["seed_commitment"] and public["seed"] is None
    with harness.session() as session:
        round_ = session.get(Round, ROUND)
        assert round_ is not None and round_.seed == seed  # never drawn again


def test_each_job_is_timed_by_kind_and_outcome(harness: Harness) -> None:
    def runs(kind: str, outcome: str) -> float:
        labels = {"kind": kind, "outcome": outcome}
        return REGISTRY.get_sample_value("allocation_job_duration_seconds_count", labels) or 0.0

    before = {key: runs(*key) for key in (("allocate", "done"), ("publish", "done"))}
    ladder(harness)  # allocates, then publishes

    assert runs("allocate", "done") - before[("allocate", "done")] == 1
    assert runs("publish", "done") - before[("publish", "done")] == 1


def test_a_declined_seat_climbs_the_waitlists_with_an_event_at_each_step(harness: Harness) -> None:
    ladder(harness)
    declined = tap(harness.amqp_uri, "allocation", "offer_declined")
    offered = tap(harness.amqp_uri, "allocation", "seat_offered")

    answer = harness.call("decline_offer", "TSP0000000001")

    assert answer["status"] == "declined"
    assert events(harness, declined, 1) == [
        {"reference": "TSP0000000001", "round_id": ROUND, "school_code": "SCH-A", "reason": None}
    ]
    moves = [
        (e["reference"], e["moved_from"], e["school_code"]) for e in events(harness, offered, 2)
    ]
    assert moves == [("TSQ0000000001", "SCH-B", "SCH-A"), ("TSR0000000001", None, "SCH-B")]
    assert (
        harness.placement("TSQ0000000001").seat_school,
        harness.placement("TSQ0000000001").status,
    ) == ("SCH-A", "offered")
    assert harness.placement("TSR0000000001").seat_school == "SCH-B"
    assert harness.call("waitlist_positions", "TSQ0000000001") == []


def test_an_overdue_offer_expires_on_the_timer_and_its_seat_moves(harness: Harness) -> None:
    ladder(harness)
    expired = tap(harness.amqp_uri, "allocation", "offer_expired")
    offered = tap(harness.amqp_uri, "allocation", "seat_offered")
    assert harness.call("get_result", "TSR0000000001")["waitlist"] == [
        {"school_code": "SCH-B", "position": 1}
    ]
    with harness.session() as session, session.begin():  # Q's deadline passes
        session.execute(
            update(Placement)
            .where(Placement.reference == "TSQ0000000001")
            .values(deadline=datetime.now(UTC) - timedelta(seconds=1))
        )

    assert events(harness, expired, 1)[0]["reference"] == "TSQ0000000001"
    [move] = events(harness, offered, 1)
    assert (move["reference"], move["moved_from"], move["school_code"]) == (
        "TSR0000000001",
        None,
        "SCH-B",
    )
    assert wait_for(lambda: harness.placement("TSQ0000000001").status == "expired")


def test_a_child_moved_up_by_an_expiry_gets_a_fresh_deadline(harness: Harness) -> None:
    ladder(harness)  # the timer takes one expiry per transaction here (EXPIRY_BATCH 1)
    expired = tap(harness.amqp_uri, "allocation", "offer_expired")
    offered = tap(harness.amqp_uri, "allocation", "seat_offered")
    with harness.session() as session, session.begin():  # P's and Q's deadlines pass
        session.execute(
            update(Placement)
            .where(Placement.reference.in_(["TSP0000000001", "TSQ0000000001"]))
            .values(deadline=datetime.now(UTC) - timedelta(seconds=1))
        )

    assert [e["reference"] for e in events(harness, expired, 2, timeout=3)] == ["TSP0000000001"]
    moves = [
        (e["reference"], e["moved_from"], e["school_code"]) for e in events(harness, offered, 2)
    ]
    assert moves == [("TSQ0000000001", "SCH-B", "SCH-A"), ("TSR0000000001", None, "SCH-B")]
    q = harness.placement("TSQ0000000001")
    assert q.status == "offered" and q.deadline is not None and q.deadline > datetime.now(UTC)
    intake = harness.call("school_intake", "SCH-A")  # P's offer expired: P stays on A's list
    listed = {c["reference"]: (c["status"], c["left"], c["deadline"]) for c in intake["allocated"]}
    assert listed["TSP0000000001"] == ("expired", True, None)
    assert listed["TSQ0000000001"][:2] == ("offered", False)


def test_a_school_rejection_after_acceptance_passes_the_seat_on(harness: Harness) -> None:
    ladder(harness)
    harness.call("accept_offer", "TSP0000000001")
    harness.call("accept_offer", "TSQ0000000001")  # Q accepted B and still waits for A
    rejected = tap(harness.amqp_uri, "allocation", "school_rejected")
    offered = tap(harness.amqp_uri, "allocation", "seat_offered")
    accepted = tap(harness.amqp_uri, "allocation", "offer_accepted")

    harness.call("reject_enrollment", "SCH-A", "TSP0000000001", "papers_not_provided")

    assert events(harness, rejected, 1)[0]["reason"] == "papers_not_provided"
    moves = [(e["reference"], e["school_code"]) for e in events(harness, offered, 2)]
    assert moves == [("TSQ0000000001", "SCH-A"), ("TSR0000000001", "SCH-B")]
    assert [e["school_code"] for e in events(harness, accepted, 1)] == ["SCH-A"]
    assert harness.placement("TSQ0000000001").status == "accepted"
    intake = harness.call("school_intake", "SCH-A")  # whom it turned away stays, with why
    assert [(c["reference"], c["status"], c["left"], c["reason"]) for c in intake["allocated"]] == [
        ("TSP0000000001", "school_rejected", True, "papers_not_provided"),
        ("TSQ0000000001", "accepted", False, None),
    ]
    offer = harness.call("get_result", "TSP0000000001")["offer"]
    assert (offer["status"], offer["left_school"], offer["reason"]) == (
        "school_rejected",
        "SCH-A",
        "papers_not_provided",
    )
    confirmed = harness.call("confirm_enrollment", "SCH-A", "TSQ0000000001")
    assert confirmed["status"] == "enrolled"


def test_the_result_explains_each_preference_with_tiers_and_cutoffs(harness: Harness) -> None:
    ladder(harness)

    result = harness.call("get_result", "TSQ0000000001")

    assert result["seed"] and result["placement"] == {
        "school_code": "SCH-B",
        "placed_by": "preference",
        "rank": 2,
        "reason": None,
        "pool": "general",  # the round reserves no seats
    }
    assert result["late"] is False
    first, second = result["explanation"]
    assert (first["school_code"], first["outcome"], first["tier"]) == ("SCH-A", "rejected", 3)
    assert first["cutoff"]["tier"] == 1 and first["waitlist_position"] == 1
    assert (second["outcome"], second["tier"], second["lottery"]) == (
        "admitted",
        2,
        result["lottery"],
    )
    assert result["offer"]["status"] == "offered" and result["offer"]["deadline"]


def test_a_second_round_gets_the_seats_the_first_left(harness: Harness) -> None:
    ladder(harness)
    with pytest.raises(RoundNotSettled, match="2 offers of 2027-grade_1 still await an answer"):
        harness.call("finalize_round", ROUND)
    add_schools(harness, ("SCH-C", 2, "00003"))  # opened after round 1 was allocated
    harness.call("accept_offer", "TSP0000000001")
    harness.call("decline_offer", "TSQ0000000001")  # R moves up to B
    harness.call("accept_offer", "TSR0000000001")
    harness.call("finalize_round", ROUND)
    second = "2027-grade_1-r2"
    harness.call("create_round", "grade_1", 2027, number=2)
    harness.call("open_round", second)
    harness.verify("TSQ0000000002", "001200000002", "00002", "SCH-B", "SCH-C", round_id=second)
    harness.verify("TSR0000000002", "001200000003", "00009", "SCH-A", round_id=second)
    harness.call("close_round", second)

    harness.run_job("allocate", second)

    with harness.session() as session:
        from services.allocation.models import RoundSchool

        seats = {
            row.school_code: (row.base_capacity, row.held_earlier, row.capacity)
            for row in session.scalars(select(RoundSchool).where(RoundSchool.round_id == second))
        }
    assert seats == {"SCH-A": (1, 1, 0), "SCH-B": (1, 1, 0), "SCH-C": (2, 0, 2)}
    assert (
        harness.placement("TSQ0000000002").school_code,
        harness.placement("TSQ0000000002").placed_by,
    ) == ("SCH-C", "preference")
    assert (
        harness.placement("TSR0000000002").reason,
        harness.placement("TSR0000000002").status,
    ) == ("already_placed", "unplaced")


def test_concurrent_steps_in_one_round_never_overfill_a_school(harness: Harness) -> None:
    from services.allocation.models import RoundSchool

    add_schools(harness, *((f"SCH-{c}", 2, f"0000{i}") for i, c in enumerate("ABCD", start=1)))
    open_round(harness)
    for i in range(16):  # four children per ward, each ranking every school from their own on
        ward = f"0000{i % 4 + 1}"
        prefs = [f"SCH-{c}" for c in "ABCD"][i % 4 :] + [f"SCH-{c}" for c in "ABCD"][: i % 4]
        harness.verify(f"TSC{i:010d}", f"0013{i:08d}", ward, *prefs)
    harness.call("close_round", ROUND)
    harness.run_job("allocate")
    harness.run_job("publish")
    with harness.session() as session:
        holders = list(
            session.scalars(select(Placement.reference).where(Placement.status == "offered"))
        )

    # Twelve calls in flight at once over the real RPC transport, served by ten workers.
    with ClusterRpcProxy({"AMQP_URI": harness.amqp_uri}) as cluster:
        replies = [cluster.allocation.decline_offer.call_async(ref) for ref in holders[:6]]
        replies += [cluster.allocation.accept_offer.call_async(ref) for ref in holders[6:]]
        answers = [reply.result() for reply in replies]
    assert [a["status"] for a in answers] == ["declined"] * 6 + ["accepted"] * (len(holders) - 6)

    with harness.session() as session:
        held: dict[str, int] = {}
        for school, status in session.execute(select(Placement.seat_school, Placement.status)):
            if status in ("offered", "accepted", "enrolled"):
                held[school] = held.get(school, 0) + 1
        seats = session.scalars(select(RoundSchool)).all()
    assert {s.school_code: s.occupied for s in seats} == held
    assert all(s.occupied <= s.capacity for s in seats)
    assert sum(held.values()) == 8  # every freed seat found a waiting child


def test_distance_breaks_ties_before_the_lottery_when_the_round_asks(harness: Harness) -> None:
    # Five one-seat schools, each wanted by three children of its ward (same tier): one
    # living 300 m away, one 3 km away, one the register has no point for. By lottery alone
    # the nearest would win all five with odds 1 in 243; by distance it always does.
    with harness.session() as session, session.begin():
        for n in range(5):
            ward = f"0010{n}"
            session.merge(Ward(code=ward, name=f"Phường {ward}"))
            session.add(
                School(
                    code=f"SCH-D{n}",
                    name=f"D{n}",
                    level="grade_1",
                    capacity=1,
                    ward_code=ward,
                    catchment=[ward],
                    lat=21.0,
                    lon=105.8,
                )
            )
    open_round(harness, distance_tiebreak=True)
    homes = {"N": (21.0027, 105.8), "F": (21.027, 105.8), "U": (None, None)}
    for n in range(5):
        for kind, (lat, lon) in homes.items():
            reference, citizen_id = f"TS{kind}D{n:010d}", f"0012010{n}{'NFU'.index(kind):04d}"
            harness.verify(reference, citizen_id, f"0010{n}", f"SCH-D{n}", lat=lat, lon=lon)
    harness.call("close_round", ROUND)
    harness.run_job("allocate")
    harness.run_job("publish")

    for n in range(5):
        assert harness.placement(f"TSND{n:010d}").school_code == f"SCH-D{n}"
        assert harness.placement(f"TSFD{n:010d}").school_code is None
        assert harness.placement(f"TSUD{n:010d}").school_code is None
    near, far = (
        harness.call("get_result", "TSND0000000000"),
        harness.call("get_result", "TSFD0000000000"),
    )
    assert near["explanation"][0]["distance_m"] == pytest.approx(300, abs=2)
    assert far["explanation"][0]["distance_m"] == pytest.approx(3002, abs=5)
    assert (far["explanation"][0]["tier"], far["explanation"][0]["outcome"]) == (2, "rejected")
    assert far["explanation"][0]["cutoff"]["distance_m"] == near["explanation"][0]["distance_m"]


def test_an_erased_application_loses_its_residences_point_too(harness: Harness) -> None:
    add_schools(harness, ("SCH-A", 1, "00001"))
    open_round(harness, distance_tiebreak=True)
    harness.verify("TSE0000000001", "001200000011", "00001", "SCH-A", lat=21.01, lon=105.81)
    with harness.session() as session:
        kept = session.get(VerifiedApplication, "TSE0000000001")
        assert kept is not None and (kept.lat, kept.lon) == (21.01, 105.81)

    harness.verdict("application_erased", "TSE0000000001")

    with harness.session() as session:
        erased = session.get(VerifiedApplication, "TSE0000000001")
        assert erased is not None
        assert (erased.citizen_id, erased.ward_code, erased.lat, erased.lon) == (None,) * 4

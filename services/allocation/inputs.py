"""Loading what the engine needs for one round: its schools with this round's seats, the
verified applications, and what earlier rounds of the same level and year left behind."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.allocation.domain import HOLDING, carried_capacity
from services.allocation.engine import Applicant, Policy
from services.allocation.engine import School as EngineSchool
from services.allocation.models import (
    Placement,
    ReservedSeat,
    Round,
    School,
    VerifiedApplication,
)


@dataclass(frozen=True)
class SchoolSeats:
    """A school's seats in this round: its capacity, less what earlier rounds still hold."""

    code: str
    base_capacity: int
    held_earlier: int
    catchment: tuple[str, ...]
    lat: float | None = None
    lon: float | None = None
    reserved: int = 0  # seats the department reserved for `reserved_for` in this round
    reserved_for: str | None = None

    @property
    def capacity(self) -> int:
        """Seats this round can give."""
        return carried_capacity(self.base_capacity, self.held_earlier)


@dataclass(frozen=True)
class RoundInputs:
    """Everything one allocation run reads from the database."""

    policy: Policy
    seed: bytes
    schools: tuple[SchoolSeats, ...]
    applicants: tuple[Applicant, ...]
    # Applications left out: their child holds a seat from an earlier round (reference -> cid).
    already_placed: dict[str, str] = field(default_factory=dict)

    def engine_schools(self) -> list[EngineSchool]:
        """The schools as the engine takes them."""
        return [
            EngineSchool(
                s.code,
                s.capacity,
                frozenset(s.catchment),
                s.lat,
                s.lon,
                # Never more than the seats this round gives (earlier rounds may hold some).
                reserved=min(s.reserved, s.capacity),
                reserved_for=s.reserved_for,
            )
            for s in self.schools
        ]


def load_inputs(session: Session, round_: Round) -> RoundInputs:
    """The round's schools and verified applications, by code and by reference."""
    assert round_.seed is not None, "a round is allocated only after it closed"
    return load_current(session, round_, bytes.fromhex(round_.seed))


def load_current(session: Session, round_: Round, seed: bytes = b"") -> RoundInputs:
    """`load_inputs` at any time: an open round's applications so far have no seed (b"")."""
    policy = Policy.from_dict(round_.policy)
    earlier = _earlier_rounds(session, round_)
    held = _held_seats(session, earlier)
    reserves = reserved_seats(session, round_.round_id)
    schools = tuple(
        SchoolSeats(
            code,
            capacity,
            held.get(code, 0),
            tuple(catchment),
            lat,
            lon,
            *reserves.get(code, (0, None)),
        )
        for code, capacity, catchment, lat, lon in session.execute(
            select(School.code, School.capacity, School.catchment, School.lat, School.lon)
            .where(School.level == round_.level)
            .order_by(School.code)
        )
    )
    holders = _seat_holders(session, earlier)
    siblings = _sibling_schools(session) if policy.sibling_priority else {}
    applicants, already_placed = [], {}
    query = (
        select(
            VerifiedApplication.reference,
            VerifiedApplication.citizen_id,
            VerifiedApplication.ward_code,
            VerifiedApplication.priority_category,
            VerifiedApplication.household_id,
            VerifiedApplication.preferences,
            VerifiedApplication.lat,
            VerifiedApplication.lon,
            VerifiedApplication.late,
        )
        .where(
            VerifiedApplication.round_id == round_.round_id,
            VerifiedApplication.state == "verified",
        )
        .order_by(VerifiedApplication.reference)
    )
    # Core, not the ORM: plain rows, and no per-row ORM bookkeeping for 250,000 of them.
    rows = session.connection().execute(query)
    for reference, citizen_id, ward, category, household, preferences, lat, lon, late in rows:
        if citizen_id in holders:
            already_placed[reference] = citizen_id
            continue
        sibling = frozenset(
            school for other, school in siblings.get(household, ()) if other != citizen_id
        )
        applicants.append(
            Applicant(
                reference=reference,
                citizen_id=citizen_id,
                ward=ward,
                preferences=tuple(preferences),
                priority_category=category,
                sibling_schools=sibling,
                lat=lat,
                lon=lon,
                household=household,
                late=bool(late),
            )
        )
    return RoundInputs(policy, seed, schools, tuple(applicants), already_placed)


def reserved_seats(session: Session, round_id: str) -> dict[str, tuple[int, str]]:
    """School -> (seats reserved, category) in the round, as the department set them."""
    query = select(ReservedSeat.school_code, ReservedSeat.seats, ReservedSeat.category)
    rows = session.execute(query.where(ReservedSeat.round_id == round_id))
    return {code: (seats, category) for code, seats, category in rows}


def _earlier_rounds(session: Session, round_: Round) -> list[str]:
    query = select(Round.round_id).where(
        Round.level == round_.level,
        Round.year == round_.year,
        Round.number < round_.number,
        Round.practice == round_.practice,  # a practice round never holds a real seat
    )
    return list(session.scalars(query))


def _held_seats(session: Session, round_ids: list[str]) -> dict[str, int]:
    if not round_ids:
        return {}
    query = (
        select(Placement.seat_school, func.count())
        .where(Placement.round_id.in_(round_ids), Placement.status.in_(HOLDING))
        .group_by(Placement.seat_school)
    )
    return {code: int(count) for code, count in session.execute(query).tuples() if code}


def _seat_holders(session: Session, round_ids: list[str]) -> set[str]:
    if not round_ids:
        return set()
    query = select(Placement.citizen_id).where(
        Placement.round_id.in_(round_ids), Placement.status.in_(HOLDING)
    )
    return set(session.scalars(query))


def _sibling_schools(session: Session) -> dict[str, list[tuple[str, str]]]:
    """Household -> (citizen id, school) of every child enrolled through this service.

    Only enrolments made here count; siblings enrolled before the service existed are not
    known to it (the register does not say which school a child attends).
    """
    query = (
        select(VerifiedApplication.household_id, Placement.citizen_id, Placement.seat_school)
        .join(VerifiedApplication, VerifiedApplication.reference == Placement.reference)
        .where(Placement.status == "enrolled")
    )
    households: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for household, citizen_id, school in session.execute(query):
        if household and school:
            households[household].append((citizen_id, school))
    return households

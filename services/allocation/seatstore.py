"""The published seats of a round as an `engine.seats.SeatState`, loaded only as far as needed.

A freed seat touches a handful of schools and children, not the whole city. The state's
per-child mappings are lazy: a child's row is read when the chain first asks about it, and
a school's waitlist is read together with the rows of everyone on it, in one query. After
the step, `save` writes back only the rows the step changed.

Callers hold the round's row lock (rounds.get_round(lock=True)) for the whole step, so the
rows read here are the latest committed ones and nobody changes them until the commit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.allocation.engine.seats import SeatState, SeatStatus
from services.allocation.models import Placement, Round, RoundSchool, WaitlistEntry

V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class Seat:
    """One child's seat row: where they sit, their status, the schools they may move to."""

    school: str | None
    status: SeatStatus
    preferences: tuple[str, ...]
    deadline: datetime | None


class Lazy(Mapping[str, V]):
    """A read-only mapping whose values are loaded on first access; it cannot be listed."""

    def __init__(self, load: Callable[[str], V]) -> None:
        self._load = load

    def __getitem__(self, key: str) -> V:
        return self._load(key)

    def __iter__(self) -> Iterator[str]:
        raise TypeError("a lazily loaded seat mapping cannot be listed")

    def __len__(self) -> int:
        raise TypeError("a lazily loaded seat mapping has no known length")


class SeatStore:
    """Reads one round's seats for the engine and writes back what a step changed."""

    def __init__(self, session: Session, round_id: str) -> None:
        self.session, self.round_id = session, round_id
        rows = session.execute(
            select(RoundSchool.school_code, RoundSchool.capacity, RoundSchool.occupied).where(
                RoundSchool.round_id == round_id
            )
        ).all()
        self.offer_deadline = session.scalar(
            select(Round.offer_deadline).where(Round.round_id == round_id)
        )
        self.capacity = {code: capacity for code, capacity, _ in rows}
        self.occupied = {code: occupied for code, _, occupied in rows}
        self.seats: dict[str, Seat] = {}
        self._waitlists: dict[str, tuple[str, ...]] = {}

    def state(self) -> SeatState:
        """The round's seat state, backed by this store."""
        return SeatState(
            capacity=self.capacity,
            occupied=dict(self.occupied),
            preferences=Lazy(lambda ref: self.seat(ref).preferences),
            waitlists=Lazy(self.waitlist),
            school_of=Lazy(lambda ref: self.seat(ref).school),
            status=Lazy(lambda ref: self.seat(ref).status),
        )

    def seat(self, reference: str) -> Seat:
        """One child's seat row; KeyError if the child has no result in this round."""
        if reference not in self.seats:
            self._load(Placement.reference == reference)
        return self.seats[reference]

    def waitlist(self, school: str) -> tuple[str, ...]:
        """A school's published waitlist, head first, with its members' seat rows."""
        if school not in self.capacity:
            raise KeyError(school)
        if school not in self._waitlists:
            query = (
                select(WaitlistEntry.reference)
                .where(WaitlistEntry.round_id == self.round_id, WaitlistEntry.school_code == school)
                .order_by(WaitlistEntry.position)
            )
            members = tuple(self.session.scalars(query))
            missing = [ref for ref in members if ref not in self.seats]
            for start in range(0, len(missing), 5000):
                self._load(Placement.reference.in_(missing[start : start + 5000]))
            self._waitlists[school] = members
        return self._waitlists[school]

    def save(
        self, state: SeatState, references: Iterable[str], deadline: Callable[[str], datetime]
    ) -> list[str]:
        """Write the seats of `references` as `state` has them; returns those that changed.

        A child who is newly offered a seat (or offered another one) gets `deadline(ref)`;
        a child who no longer holds an open offer has none.
        """
        changed, rows = [], []
        for ref in dict.fromkeys(references):
            old = self.seat(ref)
            school, status = state.school_of[ref], state.status[ref]
            if (school, status) == (old.school, old.status):
                continue
            fresh_offer = status is SeatStatus.OFFERED and (
                old.status is not SeatStatus.OFFERED or old.school != school
            )
            due = deadline(ref) if fresh_offer else old.deadline
            due = due if status is SeatStatus.OFFERED else None
            rows.append(
                {"reference": ref, "seat_school": school, "status": str(status), "deadline": due}
            )
            self.seats[ref] = Seat(school, status, old.preferences, due)
            changed.append(ref)
        if rows:
            self.session.execute(update(Placement), rows)
        counts = [
            {"round_id": self.round_id, "school_code": code, "occupied": state.occupied[code]}
            for code, before in self.occupied.items()
            if state.occupied[code] != before
        ]
        if counts:
            self.session.execute(update(RoundSchool), counts)
            self.occupied.update({row["school_code"]: row["occupied"] for row in counts})
        return changed

    def _load(self, condition: Any) -> None:
        query = select(
            Placement.reference,
            Placement.seat_school,
            Placement.status,
            Placement.preferences,
            Placement.tiers,
            Placement.deadline,
        ).where(Placement.round_id == self.round_id, condition)
        for ref, school, status, preferences, tiers, deadline in self.session.execute(query):
            movable = tuple(p for p, t in zip(preferences, tiers, strict=True) if t is not None)
            if status == "offered" and deadline is None:
                deadline = self.offer_deadline  # offered at publication
            self.seats[ref] = Seat(school, SeatStatus(status), movable, deadline)

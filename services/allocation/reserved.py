"""The seats a department reserves in a round for children of a register category.

Per round and school: one category (for example `khuyet_tat`, disability, as the population
register spells it) and a number of seats, at most the school's capacity. The department
sets them before the results are published; setting them once the round is allocated makes
the preview stale (allocate again). The child's category travels from the register with
the verified application, as a code: eligibility is "the register's category is the one
the school reserves for", nothing else of the child is read.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from services.allocation import rounds
from services.allocation.exceptions import InvalidRound, InvalidTransition
from services.allocation.models import Placement, ReservedSeat, School

CATEGORY = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
EDITABLE = ("draft", "open", "closed", "allocated")


def reserved_seats(session: Session, round_id: str) -> list[dict[str, Any]]:
    """The round's reserved seats by school; once allocated, how many the category took."""
    round_ = rounds.get_round(session, round_id)
    used: dict[str, int] | None = None  # before allocation: not known yet
    if round_.status not in ("draft", "open", "closed"):
        query = (
            select(Placement.school_code, func.count())
            .where(Placement.round_id == round_id, Placement.pool == "reserved")
            .group_by(Placement.school_code)
        )
        used = {code: int(n) for code, n in session.execute(query).tuples() if code}
    rows = select(ReservedSeat).where(ReservedSeat.round_id == round_id)
    return [
        {
            "school_code": row.school_code,
            "category": row.category,
            "seats": row.seats,
            "used": None if used is None else used.get(row.school_code, 0),
        }
        for row in session.scalars(rows.order_by(ReservedSeat.school_code))
    ]


def set_reserved_seats(session: Session, round_id: str, wanted: list[dict[str, Any]]) -> None:
    """Replace the round's reserved seats with `wanted` ([{school_code, category, seats}]);
    a school with 0 seats reserves none. InvalidRound names each problem."""
    round_ = rounds.get_round(session, round_id, lock=True)
    if round_.status not in EDITABLE:
        raise InvalidTransition(f"{round_id} is {round_.status}; its seats are fixed")
    codes = [row["school_code"] for row in wanted]
    schools = {
        s.code: s for s in session.scalars(select(School).where(School.code.in_(set(codes))))
    }
    problems = _problems(wanted, schools, round_.level)
    if problems:
        raise InvalidRound("; ".join(problems))
    session.execute(delete(ReservedSeat).where(ReservedSeat.round_id == round_id))
    session.add_all(
        ReservedSeat(
            round_id=round_id,
            school_code=row["school_code"],
            category=row["category"],
            seats=row["seats"],
        )
        for row in wanted
        if row["seats"] > 0
    )
    if round_.status == "allocated":
        round_.preview_stale = True


def _problems(wanted: list[dict[str, Any]], schools: dict[str, School], level: str) -> list[str]:
    problems, seen = [], set()
    for row in wanted:
        code, seats, category = row["school_code"], row["seats"], row["category"]
        school = schools.get(code)
        if code in seen:
            problems.append(f"{code}: listed twice")
        seen.add(code)
        if school is None or school.level != level:
            problems.append(f"{code}: no school of level {level} has this code")
        elif not 0 <= seats <= school.capacity:
            problems.append(f"{code}: reserve between 0 and {school.capacity} seats")
        if not CATEGORY.match(category):
            problems.append(f"{code}: a category is a register code such as khuyet_tat")
    return problems

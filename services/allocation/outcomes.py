"""Last rounds' outcomes per school, public once a round is published, for every round kept:
seats, applications, offers by tier group, and the cutoff (tier and lottery percentile).

Open data: the same rows as JSON and CSV. Counts follow the k rule of `chances`: a count of
fewer than k children is hidden (with the one that would give it away).
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.allocation import chances
from services.allocation.exceptions import RoundNotFound
from services.allocation.models import Placement, Round, RoundSchool, School
from shared.opendata import OUTCOME_COLUMNS

PUBLISHED = ("published", "finalized")
LOTTERY_SPACE = 2**64  # lottery numbers are the first 8 bytes of an HMAC: uniform over this
COLUMNS = OUTCOME_COLUMNS


def published_rounds(session: Session) -> list[dict[str, Any]]:
    """Every published round kept (real ones), newest first."""
    query = (
        select(Round)
        .where(Round.status.in_(PUBLISHED), Round.practice.is_(False))
        .order_by(Round.year.desc(), Round.level, Round.number)
    )
    return [
        {
            "round_id": r.round_id,
            "level": r.level,
            "year": r.year,
            "number": r.number,
            "published_at": r.published_at.isoformat() if r.published_at else None,
        }
        for r in session.scalars(query)
    ]


def percentile(lottery: str | None) -> float | None:
    """Where a lottery number stands among all possible ones (0: the best), in percent."""
    return None if lottery is None else round(int(lottery) / LOTTERY_SPACE * 100, 1)


def round_outcomes(session: Session, round_id: str) -> list[dict[str, Any]]:
    """Per school of a published round: RoundNotFound for any other round."""
    round_ = session.get(Round, round_id)
    if round_ is None or round_.status not in PUBLISHED or round_.practice:
        raise RoundNotFound(round_id)
    sibling = bool(round_.policy.get("sibling_priority"))
    listing: Counter[str] = Counter()
    firsts: Counter[str] = Counter()
    offers: dict[str, Counter[str]] = {}
    query = select(
        Placement.preferences, Placement.tiers, Placement.school_code, Placement.placed_by
    ).where(Placement.round_id == round_id)
    for preferences, tiers, school, placed_by in session.execute(query):
        listing.update(set(preferences))
        if preferences:
            firsts[preferences[0]] += 1
        if school is None:
            continue
        cell = offers.setdefault(school, Counter())
        if placed_by == "preference":
            rank = preferences.index(school)
            cell[chances.group_of(int(tiers[rank]), sibling)] += 1
        else:
            cell["guarantee"] += 1
    names = dict(session.execute(select(School.code, School.name)).tuples().all())
    rows = []
    seats = select(RoundSchool).where(RoundSchool.round_id == round_id)
    for row in session.scalars(seats.order_by(RoundSchool.school_code)):
        cell = offers.get(row.school_code, Counter())
        groups = (*chances.GROUPS, "guarantee")
        shown = chances.suppress([cell[g] for g in groups])
        applications = listing[row.school_code]
        first = firsts[row.school_code]
        k = chances.K_ANONYMITY
        rows.append(
            {
                "round_id": round_id,
                "school_code": row.school_code,
                "school_name": names.get(row.school_code, row.school_code),
                "seats": row.capacity,
                "applications": applications if applications >= k or not applications else None,
                "first_choice": first if first >= k or not first else None,
                **{f"offers_{g}": count for g, count in zip(groups, shown, strict=True)},
                "cutoff_tier": row.cutoff_tier,
                "cutoff_lottery_percentile": percentile(row.cutoff_lottery),
            }
        )
    return rows


def as_csv(rows: list[dict[str, Any]]) -> str:
    """The rows as CSV (UTF-8 text, a header line; an empty cell is a hidden count)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()

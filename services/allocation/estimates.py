"""Estimates of open rounds: compute a batch of draws, store it, read it back.

The timer loads the round's verified applications so far, ends that read transaction, runs
the engine under fresh seeds (yielding between draws, so the service's other work goes
on), and replaces the round's stored batch in one transaction. Readers get figures only
while the round is open: after close, the real allocation speaks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, delete, select
from sqlalchemy.orm import Session

from services.allocation import chances
from services.allocation.bulk import insert_rows
from services.allocation.engine.estimate import Tally, estimate, fresh_seeds
from services.allocation.inputs import RoundInputs, load_current
from services.allocation.models import (
    EstimateChance,
    EstimateRun,
    EstimateSchool,
    Round,
    School,
    VerifiedApplication,
)


def open_rounds(session: Session) -> list[str]:
    """The rounds to estimate: those open now."""
    query = select(Round.round_id).where(Round.status == "open").order_by(Round.round_id)
    return list(session.scalars(query))


def load(session: Session, round_id: str) -> RoundInputs:
    """The round's schools and verified applications so far (no seed: it has none yet)."""
    round_ = session.get(Round, round_id)
    assert round_ is not None
    return load_current(session, round_)


def compute(inputs: RoundInputs, draws: int, between: Callable[[], None]) -> Tally | None:
    """A batch of `draws` draws under fresh seeds; None while nobody applied."""
    if not inputs.applicants:
        return None
    seeds = fresh_seeds(draws)
    return estimate(inputs.engine_schools(), inputs.applicants, inputs.policy, seeds, None, between)


def store(session: Session, round_id: str, tally: Tally, now: datetime, seconds: float) -> None:
    """Replace the round's stored batch with `tally`'s (nothing if the round left `open`)."""
    round_ = session.get(Round, round_id, with_for_update={"read": True})
    if round_ is None or round_.status != "open":
        return
    for model in (EstimateChance, EstimateSchool, EstimateRun):
        session.execute(delete(model).where(model.round_id == round_id))
    free = tally.free.tolist()
    seats = {
        code: [int(c), free[s]]
        for s, (code, c) in enumerate(zip(tally.schools, tally.capacity.tolist(), strict=True))
    }
    session.add(
        EstimateRun(
            round_id=round_id,
            draws=tally.draws,
            applications=len(tally.references),
            computed_at=now,
            seconds=seconds,
            seats=seats,
        )
    )
    session.flush()
    school_columns = (
        "round_id",
        "school_code",
        "tier",
        "applicants",
        "first_choice",
        "admitted",
        "reached",
    )
    insert_rows(session, _table(EstimateSchool), school_columns, _school_rows(round_id, tally))
    columns = ("reference", "round_id", "draws", "choices", "guarantee", "unplaced")
    insert_rows(session, _table(EstimateChance), columns, _chance_rows(round_id, tally))


def _school_rows(round_id: str, tally: Tally) -> Iterator[tuple[Any, ...]]:
    listing, first = tally.applicants.tolist(), tally.first_choice.tolist()
    admitted, reached = tally.admitted.tolist(), tally.reached.tolist()
    for s, code in enumerate(tally.schools):
        for tier, count in enumerate(listing[s]):
            if count:
                yield (
                    round_id,
                    code,
                    tier,
                    count,
                    first[s][tier],
                    admitted[s][tier],
                    reached[s][tier],
                )


def _chance_rows(round_id: str, tally: Tally) -> Iterator[tuple[Any, ...]]:
    columns = zip(
        tally.references,
        tally.choice.tolist(),
        tally.guarantee.tolist(),
        tally.unplaced.tolist(),
        strict=True,
    )
    for reference, choice, guarantee, unplaced in columns:
        yield reference, round_id, tally.draws, tuple(choice), guarantee, unplaced


def _estimate_of_open_round(session: Session, round_id: str) -> tuple[Round, EstimateRun] | None:
    round_ = session.get(Round, round_id)
    if round_ is None or round_.status != "open":
        return None
    run = session.get(EstimateRun, round_id)
    return (round_, run) if run is not None else None


def _stamp(run: EstimateRun) -> dict[str, Any]:
    return {
        "round_id": run.round_id,
        "computed_at": run.computed_at.isoformat(),
        "draws": run.draws,
        "applications": run.applications,
        "k": chances.K_ANONYMITY,
    }


def demand(session: Session, round_id: str) -> dict[str, Any] | None:
    """Applications so far per school and seat, by tier group; k-anonymous."""
    found = _estimate_of_open_round(session, round_id)
    if found is None:
        return None
    round_, run = found
    sibling = bool(round_.policy.get("sibling_priority"))
    groups: dict[str, dict[str, int]] = {}
    firsts: dict[str, int] = {}
    query = select(EstimateSchool).where(EstimateSchool.round_id == round_id)
    for row in session.scalars(query):
        cell = groups.setdefault(row.school_code, {})
        group = chances.group_of(row.tier, sibling)
        cell[group] = cell.get(group, 0) + row.applicants
        firsts[row.school_code] = firsts.get(row.school_code, 0) + row.first_choice
    rows = [
        chances.demand_row(code, capacity, groups.get(code, {}), firsts.get(code, 0))
        for code, (capacity, _) in sorted(run.seats.items())
    ]
    return {**_stamp(run), "schools": rows}


def school_estimates(session: Session, round_id: str) -> dict[str, Any] | None:
    """Each school's public chances per tier group, where k applicants stand behind them."""
    found = _estimate_of_open_round(session, round_id)
    if found is None:
        return None
    round_, run = found
    sibling = bool(round_.policy.get("sibling_priority"))
    figures: dict[str, list[chances.TierFigure]] = {}
    query = select(EstimateSchool).where(EstimateSchool.round_id == round_id)
    for row in session.scalars(query):
        figure = chances.TierFigure(row.tier, row.applicants, row.admitted, row.reached)
        figures.setdefault(row.school_code, []).append(figure)
    rows = [
        chances.school_chances(code, figures.get(code, []), run.draws, sibling)
        for code in sorted(run.seats)
    ]
    return {**_stamp(run), "schools": rows}


def application_estimate(session: Session, reference: str) -> dict[str, Any] | None:
    """The family's own chances and, when the risk of no place is high, in-catchment schools
    with room; None when the application has no estimate yet (or its round is not open)."""
    chance = session.get(EstimateChance, reference)
    application = session.get(VerifiedApplication, reference)
    if chance is None or application is None or application.state != "verified":
        return None
    found = _estimate_of_open_round(session, chance.round_id)
    if found is None:
        return None
    round_, run = found
    preferences = list(application.preferences)
    figures = chances.own_chances(
        preferences, chance.choices, chance.guarantee, chance.unplaced, chance.draws
    )
    suggestions: list[dict[str, Any]] = []
    if figures["high_risk"] and application.ward_code:
        serving = [
            code
            for code, catchment in session.execute(
                select(School.code, School.catchment).where(School.level == round_.level)
            )
            if application.ward_code in catchment
        ]
        free = {code: seats[1] for code, seats in run.seats.items()}
        suggestions = chances.suggest(preferences, serving, free, run.draws)
    return {**_stamp(run), "reference": reference, **figures, "suggestions": suggestions}


def _table(model: type[Any]) -> Table:
    return cast(Table, model.__table__)

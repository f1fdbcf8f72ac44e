"""Allocation engine benchmark: python -m bench.allocation [--quick].

Times the pure engine on deterministic synthetic cities (126 wards, 2,620 schools, five
preferences per child), compares it with the `matching` library's hospital-resident solver
on the same instance (asserting identical assignments), and writes its section of
BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from matching.games import HospitalResident

from bench.report import table, write_section
from services.allocation.engine import (
    Applicant,
    Instance,
    Policy,
    School,
    allocate,
    check_allocation,
    compile_instance,
    count_blocking_pairs,
    deferred_acceptance,
    lotteries,
)
from services.allocation.engine.explain import statistics
from services.allocation.engine.export import export_csv

WARDS, SCHOOLS, PREFERENCES = 126, 2_620, 5
SEED = b"bench-round-seed-2027"
CENTRE = (21.03, 105.83)


@dataclass(frozen=True)
class City:
    """A synthetic round: schools and applicants."""

    schools: tuple[School, ...]
    applicants: tuple[Applicant, ...]


def synthetic_city(
    applicants: int, schools: int = SCHOOLS, seed: int = 2027, stress: bool = False
) -> City:
    """A deterministic city: catchments of 1–3 wards, ~1.05 seats per child, mostly local
    preferences, and schools whose popularity varies so some are oversubscribed.

    With `stress`, capacities ignore demand, so far more proposals are rejected.
    """
    rng = np.random.default_rng(seed)
    wards = [f"W{w:03d}" for w in range(WARDS)]
    centres = np.array(CENTRE) + rng.uniform(-0.18, 0.18, size=(WARDS, 2))
    primary = np.arange(schools) % WARDS
    catchments = []
    for s in range(schools):
        extra = rng.choice(WARDS, size=int(rng.integers(0, 3)), replace=False)
        catchments.append(frozenset({wards[primary[s]], *(wards[w] for w in extra)}))
    ward_schools: list[list[int]] = [[] for _ in range(WARDS)]
    for s, catchment in enumerate(catchments):
        for ward in catchment:
            ward_schools[int(ward[1:])].append(s)
    popularity = rng.lognormal(0.0, 0.6, size=schools)
    school_xy = centres[primary] + rng.normal(0, 0.01, size=(schools, 2))

    home = rng.integers(0, WARDS, size=applicants)
    prefs = np.empty((applicants, PREFERENCES), dtype=np.int64)
    for w in range(WARDS):
        rows = np.flatnonzero(home == w)
        local = np.array(ward_schools[w])
        scores = np.log(popularity[local])[None, :] + rng.gumbel(size=(len(rows), len(local)))
        top = np.argsort(-scores, axis=1)[:, :PREFERENCES]
        prefs[rows, : top.shape[1]] = local[top]
        prefs[rows, top.shape[1] :] = rng.integers(
            0, schools, (len(rows), PREFERENCES - top.shape[1])
        )
    outside = rng.random((applicants, PREFERENCES)) < 0.15
    prefs[outside] = rng.integers(0, schools, int(outside.sum()))

    first = np.bincount(prefs[:, 0], minlength=schools) + 1.0
    demand = first * rng.uniform(0.6, 1.4, size=schools)
    if stress:
        demand = rng.uniform(0.2, 1.8, size=schools)
    capacity = np.maximum(1, np.round(demand / demand.sum() * 1.05 * applicants)).astype(int)
    school_list = tuple(
        School(f"S{s:04d}", int(capacity[s]), catchments[s], *map(float, school_xy[s]))
        for s in range(schools)
    )
    codes = [school.code for school in school_list]
    category = rng.random(applicants) < 0.08
    xy = centres[home] + rng.normal(0, 0.02, size=(applicants, 2))
    people = tuple(
        Applicant(
            reference=f"TS{i:08d}",
            citizen_id=f"{1_000_000_000 + i * 7919:012d}",
            ward=wards[home[i]],
            preferences=tuple(codes[s] for s in prefs[i]),
            priority_category="policy" if category[i] else None,
            lat=float(xy[i, 0]),
            lon=float(xy[i, 1]),
        )
        for i in range(applicants)
    )
    return City(school_list, people)


def best_of(runs: int, action: Callable[[], Any]) -> tuple[float, Any]:
    """Fastest wall time of `runs` calls, with the collector paused as `allocate` does."""
    best, result = float("inf"), None
    for _ in range(runs):
        enabled = gc.isenabled()
        gc.disable()
        try:
            start = time.perf_counter()
            result = action()
            best = min(best, time.perf_counter() - start)
        finally:
            if enabled:
                gc.enable()
    return best, result


def matching_game(
    instance: Instance,
) -> tuple[dict[str, list[str]], dict[str, list[str]], dict[str, int]]:
    """The same round as `matching` inputs: residents rank schools, schools rank by key."""
    codes = [s.code for s in instance.schools]
    refs = [a.reference for a in instance.applicants]
    residents = {}
    for a, row in enumerate(instance.pref.tolist()):
        ranked = [codes[s] for s in row if s >= 0 and instance.schools[s].capacity > 0]
        if ranked:
            residents[refs[a]] = ranked
    rows, cols = np.nonzero(instance.pref >= 0)
    school, key = instance.pref[rows, cols], instance.keys[rows, cols]
    order = np.lexsort((key, school))
    hospitals: dict[str, list[str]] = {}
    for s, a in zip(school[order].tolist(), rows[order].tolist(), strict=True):
        if refs[a] in residents:
            hospitals.setdefault(codes[s], []).append(refs[a])
    capacities = {
        code: instance.schools[instance.school_index[code]].capacity for code in hospitals
    }
    return residents, hospitals, capacities


def compare_with_matching(size: int) -> dict[str, float]:
    """Time `matching` once at `size` and assert it finds the same assignment."""
    city = synthetic_city(size)
    policy = Policy(max_preferences=PREFERENCES)
    instance = compile_instance(city.schools, city.applicants, policy, SEED)
    residents, hospitals, capacities = matching_game(instance)
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 100_000))  # matching deep-copies players
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        game = HospitalResident.create_from_dictionaries(residents, hospitals, capacities)
    built = time.perf_counter()
    solution = game.solve(optimal="resident")
    solved = time.perf_counter()
    theirs = {h.name: sorted(r.name for r in rs) for h, rs in solution.items() if rs}
    engine_all, result = best_of(5, lambda: allocate(city.schools, city.applicants, SEED, policy))
    engine_da, da_rank = best_of(5, lambda: deferred_acceptance(instance))
    mine: dict[str, list[str]] = {}
    for a, rank in enumerate(da_rank.tolist()):
        if rank >= 0:
            code = city.schools[int(instance.pref[a, rank])].code
            mine.setdefault(code, []).append(city.applicants[a].reference)
    assert {c: sorted(rs) for c, rs in mine.items()} == theirs, "matching disagrees"
    assert (result.da_rank == da_rank).all()
    return {
        "size": size,
        "matching_total": solved - start,
        "matching_solve": solved - built,
        "engine_total": engine_all,
        "engine_da": engine_da,
    }


BEYOND_P3 = (
    "**The distance and stress rows** go beyond P3, whose city is the default one above,"
    " and keep its 1 s bar; on this machine they land around it. What the profile shows:"
    " with distance on, every applicant and preference gains a great-circle distance in its"
    " packed key (vectorised), and ties no longer fall to the lottery alone; in the stress"
    " city, capacities ignore demand, so the first round rejects far more children and the"
    " proposal loop after it, plain Python with one heap per school and the one part not"
    " vectorised, does several times the work (its deferred acceptance row against the"
    " default city's). Tried and kept: the first round as one array sort, keys packed into"
    " one int64 so that a comparison is one integer compare, the loop over `array` buffers"
    " instead of numpy scalars, the garbage collector paused during the run. Next step: run"
    " the later rounds as array rounds too (every free child proposes at once; each school"
    " merges the new keys with those it holds in one sort and keeps its capacity), turning"
    " the loop's per-proposal Python work into a few sorts per round."
)


def measure(size: int, runs: int, distance: bool = False, stress: bool = False) -> dict[str, Any]:
    """Time the engine and its parts on one city."""
    city = synthetic_city(size, stress=stress)
    policy = Policy(max_preferences=PREFERENCES, distance_tiebreak=distance)
    ids = [a.citizen_id for a in city.applicants]
    total, result = best_of(runs, lambda: allocate(city.schools, city.applicants, SEED, policy))
    lottery, _ = best_of(runs, lambda: lotteries(SEED, ids))
    compiled, instance = best_of(
        runs, lambda: compile_instance(city.schools, city.applicants, policy, SEED)
    )
    da, da_rank = best_of(runs, lambda: deferred_acceptance(instance))
    blocking, pairs = best_of(runs, lambda: count_blocking_pairs(instance, da_rank))
    checks, _ = best_of(runs, lambda: check_allocation(result))
    exported, _ = best_of(1, lambda: sum(map(len, export_csv(result))))
    stats = statistics(result)
    return {
        "size": size,
        "seats": sum(s.capacity for s in city.schools),
        "total": total,
        "lottery": lottery,
        "compile": compiled,
        "da": da,
        "blocking": blocking,
        "pairs": pairs,
        "checks": checks,
        "export": exported,
        "stats": stats,
    }


def verdict(ok: bool) -> str:
    """PASS or MISS."""
    return "PASS" if ok else "MISS"


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and write its section (`python -m bench` passes no arguments)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    args = parser.parse_args(argv)
    small, large, versus = (2_500, 25_000, 1_000) if args.quick else (25_000, 250_000, 10_000)
    low = measure(small, 10)
    print(f"{small:,}: {low['total']:.3f} s", flush=True)
    high = measure(large, 5)
    print(f"{large:,}: {high['total']:.3f} s", flush=True)
    far = measure(large, 3, distance=True)
    print(f"{large:,} with distance: {far['total']:.3f} s", flush=True)
    hard = measure(large, 3, stress=True)
    print(f"{large:,} stress: {hard['total']:.3f} s", flush=True)
    duel = compare_with_matching(versus)
    print(f"matching at {versus:,}: {duel['matching_total']:.1f} s", flush=True)
    growth = high["total"] / low["total"]
    stats = high["stats"]
    ms = lambda seconds: f"{seconds * 1000:,.0f} ms"  # noqa: E731
    rows = [
        [
            f"allocate {large:,} applicants (lottery, keys, DA, guarantee, waitlists, self-checks)",
            "≤ 1 s",
            ms(high["total"]),
            verdict(high["total"] <= 1.0),
        ],
        [f"  of which HMAC lottery, {large:,} children", "", ms(high["lottery"]), ""],
        ["  of which priority keys (lottery included)", "", ms(high["compile"]), ""],
        ["  of which deferred acceptance", "", ms(high["da"]), ""],
        [
            f"allocate {large:,}, distance tie-break on",
            "≤ 1 s",
            ms(far["total"]),
            verdict(far["total"] <= 1.0),
        ],
        [
            f"allocate {large:,}, stress city: capacities ignore demand "
            f"(first choice {hard['stats'].first_choice_share:.0%})",
            "≤ 1 s",
            ms(hard["total"]),
            verdict(hard["total"] <= 1.0),
        ],
        ["  of which deferred acceptance, stress city", "", ms(hard["da"]), ""],
        [f"allocate {small:,}", "", ms(low["total"]), ""],
        [f"growth {small:,} → {large:,}", "≤ 15×", f"{growth:.1f}×", verdict(growth <= 15)],
        [
            f"blocking-pair count, {large:,} ({high['pairs']} pairs)",
            "≤ 1 s",
            ms(high["blocking"]),
            verdict(high["blocking"] <= 1.0),
        ],
        [f"all self-checks, {large:,}", "", ms(high["checks"]), ""],
        [f"export CSV, {large:,} rows", "", ms(high["export"]), ""],
        [
            f"`matching` 1.4.3 HospitalResident at {versus:,}: build + solve (once), from its"
            " input dictionaries prepared outside the timer",
            "",
            f"{duel['matching_total']:,.2f} s",
            "",
        ],
        [
            "  engine deferred acceptance on the same instance, from its arrays compiled"
            " outside the timer (identical assignment): speed-up",
            "≥ 1,000×",
            f"{duel['matching_total'] / duel['engine_da']:,.0f}×",
            verdict(duel["matching_total"] >= 1_000 * duel["engine_da"]),
        ],
        [
            "  engine whole allocate from applicant records (HMAC lotteries, tiers, DA,"
            " guarantee, waitlists, self-checks: more than `matching` does): speed-up",
            "",
            f"{duel['matching_total'] / duel['engine_total']:,.0f}×",
            "",
        ],
        [
            "  `matching` solve only vs engine DA only: speed-up",
            "",
            f"{duel['matching_solve'] / duel['engine_da']:,.1f}×",
            "",
        ],
    ]
    body = "\n\n".join(
        [
            table(["measure", "target", "measured", ""], rows),
            f"City: {WARDS} wards, {SCHOOLS:,} schools, catchments of 1–3 wards, "
            f"{PREFERENCES} preferences per child, drawn from the home ward's catchment "
            "by school popularity, each replaced by a city-wide pick with odds 15%; "
            f"{high['seats']:,} seats for {large:,} children; first choice "
            f"{stats.first_choice_share:.1%}, top 3 {stats.top3_share:.1%}, guarantee "
            f"{stats.by_guarantee:,}, unplaced {stats.unplaced:,}. Times are the best of 3–10 runs "
            "with the input already in memory as frozen dataclasses; `matching` ran once and "
            "its assignment was asserted identical to the engine's deferred acceptance. The "
            "target compares like with like: each library is handed the same round (ranked "
            "preferences, each school's strict priority order, capacities) in the form it "
            "takes, prepared outside the timer, and must return the stable matching. "
            "`matching`'s time is mostly building its player objects (input validation and "
            "deep copies); its solve alone is shown too. The engine's whole allocate, which "
            "also draws the lottery and builds the priorities from the applicants' records, "
            "is the row below it.",
            BEYOND_P3,
        ]
    )
    command = "python -m bench.allocation" + (" --quick" if args.quick else "")
    write_section("allocation", "Allocation engine", command, body)
    print(body)


if __name__ == "__main__":
    main()

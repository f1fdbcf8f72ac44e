"""Deterministic demo city on Hanoi's real wards: schools, the register and applications.

Usage: python -m tools.demo_city [--scale small|city] [--out DIR] [--seed 2027] [--year 2027]
       python -m tools.demo_city register [--rows 1000000] [--out FILE]
(DIR defaults to var/demo/SCALE, FILE to var/bench/register-ROWS.csv)
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
import time
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path
from typing import Any

from tools.demo_people import Person, Population, ascii_slug
from tools.demo_schools import AGE, Chooser, hanoi_wards, make_schools, set_capacities
from tools.demo_schools import HEADER as SCHOOLS_HEADER

REGISTER_HEADER = list(Person.__dataclass_fields__)
CLASS_SIZE = {"kindergarten": 30, "grade_1": 35, "grade_6": 45}
APPLICANT_SHARE = {"kindergarten": 0.30, "grade_1": 0.38, "grade_6": 0.32}
LEVEL_BY_BIRTH_YEAR = {age: level for level, age in AGE.items()}  # keyed by age this year


@dataclass(frozen=True)
class Scale:
    """How big a demo city is."""

    wards: int | None  # None: all of Hanoi
    schools: dict[str, int]
    applicants: int
    seats_unit: dict[str, int] | None  # capacities in whole classes, or single seats


SCALES = {
    "small": Scale(6, dict.fromkeys(AGE, 30), 300, None),
    "city": Scale(
        None, {"kindergarten": 1100, "grade_1": 820, "grade_6": 700}, 250_000, CLASS_SIZE
    ),
}


def build_city(out: Path, scale_name: str, seed: int, year: int) -> dict[str, int]:
    """Write wards.csv, schools.csv, register.csv and applications.jsonl into `out`."""
    rng = random.Random(seed)
    scale = SCALES[scale_name]
    wards = hanoi_wards()[: scale.wards]
    weights = [
        rng.uniform(1, 3) if n.startswith("Phường") else rng.uniform(0.4, 1.2) for _, n in wards
    ]
    schools = make_schools(rng, wards, weights, scale.schools)
    total = sum(weights)
    ward_share = {code: weight / total for (code, _), weight in zip(wards, weights, strict=True)}
    demand = {
        level: {code: scale.applicants * share * part for code, part in ward_share.items()}
        for level, share in APPLICANT_SHARE.items()
    }
    set_capacities(rng, schools, demand, scale.seats_unit)
    out.mkdir(parents=True, exist_ok=True)
    with _csv(out / "wards.csv", ["code", "name"]) as writer:
        writer.writerows(wards)
    with _csv(out / "schools.csv", SCHOOLS_HEADER) as writer:
        writer.writerows(school.row() for school in schools)
    population, chooser = Population(rng, year), Chooser(rng, schools)
    ward_weights = list(accumulate(weights))
    counts = {"wards": len(wards), "schools": len(schools), "register": 0, "applications": 0}
    wanted = scale.applicants
    with (
        _csv(out / "register.csv", REGISTER_HEADER) as register,
        open(out / "applications.jsonl", "w", encoding="utf-8", newline="\n") as applications,
    ):
        while counts["applications"] < wanted:
            ward = rng.choices(wards, cum_weights=ward_weights)[0][0]
            children, adults = population.household(ward, _child_years(rng, year))
            register.writerows(person.row() for person in [*children, *adults])
            counts["register"] += len(children) + len(adults)
            for child in children:
                level = LEVEL_BY_BIRTH_YEAR.get(year - child.date_of_birth.year)
                if level is None or rng.random() > 0.92 or counts["applications"] == wanted:
                    continue  # another age, this family applies elsewhere, or enough of them
                prefs = chooser.preferences(ward, level)
                body = application(rng, year, level, child, rng.choice(adults[:2]), prefs)
                applications.write(json.dumps(body, ensure_ascii=False) + "\n")
                counts["applications"] += 1
    return counts


def _child_years(rng: random.Random, year: int) -> list[int]:
    """Birth years of a household's children: one of an admission age, maybe siblings."""
    levels, shares = list(APPLICANT_SHARE), list(APPLICANT_SHARE.values())
    years = [year - AGE[rng.choices(levels, shares)[0]]]
    for _ in range(rng.choices([0, 1, 2], [0.55, 0.37, 0.08])[0]):
        years.append(rng.choice([year - age for age in range(18) if year - age not in years]))
    return years


def application(
    rng: random.Random, year: int, level: str, child: Person, parent: Person, prefs: list[str]
) -> dict[str, Any]:
    """The gateway's POST body; about 4 % of parents type the name, date or id differently."""
    name, born, cid = child.full_name, child.date_of_birth.isoformat(), child.citizen_id
    slip = rng.random()
    if slip < 0.02:
        name = unicodedata.normalize("NFD", name)  # decomposed diacritics: still verifies
    elif slip < 0.03:
        name = "  " + name.upper().replace(" ", "  ")  # case and spacing: still verifies
    elif slip < 0.035:
        name = ascii_slug(name).replace(".", " ").title()  # diacritics lost: name_mismatch
    elif slip < 0.04:
        born = child.date_of_birth.replace(day=child.date_of_birth.day % 28 + 1).isoformat()
    elif slip < 0.043:
        cid = f"099{rng.randrange(10**9):09d}"  # no province 099: not_in_register
    guardian = {
        "full_name": parent.full_name,
        "phone": f"0{rng.choice('389')}{rng.randrange(10**8):08d}",
        "email": f"{ascii_slug(parent.full_name)}{rng.randrange(100)}@example.com",
        "language": "en" if rng.random() < 0.06 else "vi",
    }
    return {
        "round_id": f"{year}-{level}",
        "child": {"citizen_id": cid, "full_name": name, "date_of_birth": born},
        "preferences": prefs,
        "guardian": guardian,
    }


def build_register(out: Path, rows: int, seed: int, year: int, bad_share: float = 0.001) -> int:
    """Write a register CSV of exactly `rows` rows, about `bad_share` of them broken on purpose."""
    rng = random.Random(seed)
    population = Population(rng, year)
    wards = [code for code, _ in hanoi_wards()]
    bad = written = 0
    out.parent.mkdir(parents=True, exist_ok=True)
    with _csv(out, REGISTER_HEADER) as writer:
        while written < rows:
            years = rng.sample(range(year - 17, year + 1), rng.choices([1, 2, 3], [5, 4, 1])[0])
            children, adults = population.household(rng.choice(wards), years)
            for person in [*children, *adults][: rows - written]:
                row = person.row()
                if rng.random() < bad_share:
                    row, bad = _break(rng, row), bad + 1
                writer.writerow(row)
                written += 1
    return bad


def _break(rng: random.Random, row: list[str]) -> list[str]:
    """One of the mistakes a real export has: the import must report it and go on."""
    broken = list(row)
    match rng.randrange(6):
        case 0:
            broken[0] = broken[0][:-1]  # 11-digit id
        case 1:
            broken[2] = broken[2][:4] + "-02-30"  # no such day
        case 2:
            broken[3] = "X"
        case 3:
            broken[1] = ""
        case 4:
            broken[4] = ""
        case _:
            broken = broken[:5]  # a truncated line
    return broken


@contextmanager
def _csv(path: Path, header: list[str]) -> Iterator[Any]:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        yield writer


def main(argv: list[str] | None = None) -> None:
    """Build the demo city, or (`register` first) a big register CSV for the import benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    started = time.perf_counter()
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["register"]:
        parser.add_argument("command", choices=["register"])
        parser.add_argument("--rows", type=int, default=1_000_000)
        parser.add_argument("--bad-share", type=float, default=0.001)
    else:
        parser.add_argument("--scale", choices=list(SCALES), default="small")
    parser.add_argument("--out", type=Path, help="default: var/demo/<scale> or var/bench/")
    parser.add_argument("--seed", type=int, default=2027)
    parser.add_argument("--year", type=int, default=2027)
    args = parser.parse_args(argv)
    if argv[:1] == ["register"]:
        out = args.out or Path("var/bench") / f"register-{args.rows}.csv"
        bad = build_register(out, args.rows, args.seed, args.year, args.bad_share)
        summary = f"{args.rows:,} register rows ({bad:,} deliberately bad) in {out}"
    else:
        out = args.out or Path("var/demo") / args.scale
        counts = build_city(out, args.scale, args.seed, args.year)
        summary = ", ".join(f"{count:,} {name}" for name, count in counts.items()) + f" in {out}"
    print(f"{summary} · {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()

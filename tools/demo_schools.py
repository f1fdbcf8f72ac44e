"""Schools of the demo city on Hanoi's real wards, and how parents rank them."""

from __future__ import annotations

import math
import random
from bisect import bisect
from dataclasses import dataclass
from itertools import accumulate

from vietnam_provinces import ProvinceCode, Ward

from tools.demo_geo import point_near

HANOI = ProvinceCode(1)
SCHOOL_SPREAD = 0.008  # degrees around its ward's centre
HEADER = ["code", "name", "level", "capacity", "ward_code", "catchment", "lat", "lon"]
AGE = {"kindergarten": 5, "grade_1": 6, "grade_6": 11}
PREFIX = {"kindergarten": "MN", "grade_1": "TH", "grade_6": "THCS"}
KIND = {"kindergarten": "Trường Mầm non", "grade_1": "Trường Tiểu học", "grade_6": "Trường THCS"}
NAMESAKES = {
    "kindergarten": [
        "Hoa Sen",
        "Hoa Mai",
        "Sơn Ca",
        "Họa Mi",
        "Tuổi Thơ",
        "Ánh Sao",
        "Vành Khuyên",
    ],
    "grade_1": ["Nguyễn Du", "Lê Lợi", "Kim Đồng", "Trưng Vương", "Ngô Quyền", "Quang Trung"],
    "grade_6": ["Chu Văn An", "Lê Quý Đôn", "Nguyễn Trãi", "Lương Thế Vinh", "Ngô Sĩ Liên"],
}


@dataclass
class School:
    """A generated school; `popularity` skews parents' choices, so some schools overfill."""

    code: str
    name: str
    level: str
    ward_code: str
    catchment: list[str]
    popularity: float
    capacity: int = 0

    def row(self) -> list[str | int]:
        """The schools.csv row (see HEADER)."""
        catchment = ";".join(self.catchment)
        lat, lon = point_near(self.ward_code, self.code, SCHOOL_SPREAD)
        return [
            *(self.code, self.name, self.level, self.capacity, self.ward_code, catchment),
            *(f"{lat:.6f}", f"{lon:.6f}"),
        ]


def hanoi_wards() -> list[tuple[str, str]]:
    """Today's Hanoi wards and communes as (5-digit code, name), in the package's order."""
    return [(f"{int(ward.code):05d}", ward.name) for ward in Ward.iter_by_province(HANOI)]


def make_schools(
    rng: random.Random,
    wards: list[tuple[str, str]],
    weights: list[float],
    per_level: dict[str, int],
) -> list[School]:
    """Every ward gets a school of each level if there are enough; the rest follow population."""
    schools: list[School] = []
    for level, count in per_level.items():
        homes = list(range(len(wards)))[:count]
        homes += rng.choices(range(len(wards)), weights, k=count - len(homes))
        homes.sort()
        seen: dict[str, int] = {}
        for number, home in enumerate(homes, start=1):
            code, ward_name = wards[home]
            name = f"{KIND[level]} {rng.choice(NAMESAKES[level])}" if rng.random() < 0.3 else ""
            if not name or name in seen:  # a namesake once per city; else the ward's name
                name = f"{KIND[level]} {ward_name.removeprefix('Phường ').removeprefix('Xã ')}"
            seen[name] = seen.get(name, 0) + 1
            if seen[name] > 1:
                name += f" số {seen[name]}"
            # Neighbours in the package's order: wards of one former district sit together.
            near = [wards[(home + step) % len(wards)][0] for step in (1, -1, 2, -2)]
            extra = rng.choices([0, 1, 2], [0.5, 0.35, 0.15])[0]
            catchment = [code, *dict.fromkeys(c for c in near if c != code)][: 1 + extra]
            popularity = rng.lognormvariate(0, 0.6)
            code = f"{PREFIX[level]}-{number:04d}"
            schools.append(School(code, name, level, wards[home][0], catchment, popularity))
    return schools


def set_capacities(
    rng: random.Random,
    schools: list[School],
    demand: dict[str, dict[str, float]],
    seats_unit: dict[str, int] | None,
) -> None:
    """Seats near each catchment's expected demand (`demand[level][ward]`), in whole classes."""
    covering: dict[tuple[str, str], int] = {}
    for school in schools:
        for ward in school.catchment:
            covering[school.level, ward] = covering.get((school.level, ward), 0) + 1
    for school in schools:
        expected = sum(
            demand[school.level][ward] / covering[school.level, ward] for ward in school.catchment
        )
        unit = seats_unit[school.level] if seats_unit else 1
        school.capacity = max(1, math.ceil(expected * rng.uniform(0.85, 1.3) / unit)) * unit


class Chooser:
    """Ranked preferences: mostly in the child's catchment, weighted by popularity."""

    def __init__(self, rng: random.Random, schools: list[School]) -> None:
        self.rng = rng
        self.local: dict[tuple[str, str], tuple[list[School], list[float]]] = {}
        self.anywhere: dict[str, tuple[list[School], list[float]]] = {}
        local: dict[tuple[str, str], list[School]] = {}
        for school in schools:
            for ward in school.catchment:
                local.setdefault((ward, school.level), []).append(school)
        for key, found in local.items():
            self.local[key] = (found, list(accumulate(s.popularity for s in found)))
        for level in AGE:
            of_level = [s for s in schools if s.level == level]
            self.anywhere[level] = (of_level, list(accumulate(s.popularity for s in of_level)))

    def preferences(self, ward: str, level: str) -> list[str]:
        """1-3 distinct school codes; about one choice in eight is out of catchment."""
        rng = self.rng
        wanted = rng.choices([1, 2, 3], [0.25, 0.35, 0.40])[0]
        chosen: list[str] = []
        for _ in range(wanted * 4):
            if len(chosen) == wanted:
                break
            pool = self.local.get((ward, level)) if rng.random() > 0.12 else None
            found, cumulative = pool or self.anywhere[level]
            pick = found[min(bisect(cumulative, rng.random() * cumulative[-1]), len(found) - 1)]
            if pick.code not in chosen:
                chosen.append(pick.code)
        return chosen

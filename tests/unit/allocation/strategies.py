"""Random rounds for property tests, and the rules written out plainly to check against."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hypothesis import strategies as st

from services.allocation.engine import Applicant, Policy, School
from services.allocation.engine.priority import haversine_m
from tests.unit.allocation.builders import hmac_lottery

WARDS = ("W1", "W2", "W3", "W4")
UNKNOWN_DISTANCE = 10**12


@dataclass(frozen=True)
class Round:
    """A generated round."""

    schools: tuple[School, ...]
    applicants: tuple[Applicant, ...]
    seed: bytes
    policy: Policy


coordinates = st.none() | st.tuples(
    st.floats(20.9, 21.1, allow_nan=False), st.floats(105.7, 105.9, allow_nan=False)
)


@st.composite
def rounds(
    draw: st.DrawFn,
    max_schools: int = 6,
    max_children: int = 24,
    families: bool = False,
    reserves: bool = False,
    late: bool = False,
) -> Round:
    """Small rounds with every feature: empty and full catchments, zero capacities, unknown
    and repeated preferences, categories, siblings, missing coordinates; with `families`,
    households and the sibling options; with `reserves`, reserved seats for "disability";
    with `late`, late applications."""
    schools = []
    for i in range(draw(st.integers(1, max_schools))):
        at = draw(coordinates)
        capacity = draw(st.integers(0, 4))
        reserved = draw(st.integers(0, capacity)) if reserves else 0
        schools.append(
            School(
                code=f"S{i}",
                capacity=capacity,
                catchment=frozenset(draw(st.sets(st.sampled_from(WARDS), max_size=2))),
                lat=at[0] if at else None,
                lon=at[1] if at else None,
                reserved=reserved,
                reserved_for="disability" if reserved else None,
            )
        )
    categories = [None, None, "policy", *(["disability"] * reserves)]
    households = [None, *(["H1", "H2", "H3", "H4"] * families)]
    codes = [s.code for s in schools]
    count = draw(st.integers(0, max_children))
    ids = draw(st.lists(st.integers(0, 10**12 - 1), min_size=count, max_size=count, unique=True))
    applicants = []
    for i, citizen in enumerate(ids):
        at = draw(coordinates)
        applicants.append(
            Applicant(
                reference=f"R{i:03d}",
                citizen_id=f"{citizen:012d}",
                ward=draw(st.sampled_from((*WARDS, "W9"))),
                preferences=tuple(draw(st.lists(st.sampled_from([*codes, "NOPE"]), max_size=5))),
                priority_category=draw(st.sampled_from(categories)),
                sibling_schools=frozenset(draw(st.sets(st.sampled_from(codes), max_size=2))),
                lat=at[0] if at else None,
                lon=at[1] if at else None,
                household=draw(st.sampled_from(households)),
                late=draw(st.booleans()) if late else False,
            )
        )
    policy = Policy(
        max_preferences=draw(st.integers(1, 4)),
        sibling_priority=draw(st.booleans()),
        distance_tiebreak=draw(st.booleans()),
        shared_sibling_lottery=draw(st.booleans()) if families else False,
        twins_together=draw(st.booleans()) if families else False,
    )
    seed = draw(st.binary(max_size=16))
    return Round(tuple(schools), tuple(applicants), seed, policy)


def effective_preferences(applicant: Applicant, round_: Round) -> list[str]:
    """The ranked schools that count: within the maximum, known, each once."""
    known = {s.code for s in round_.schools}
    kept: list[str] = []
    for code in applicant.preferences[: round_.policy.max_preferences]:
        if code in known and code not in kept:
            kept.append(code)
    return kept


def rule_priority(
    school: School, applicant: Applicant, round_: Round, twin: bool = False
) -> tuple[int, int, int, int]:
    """(tier, distance, draw number, own lottery) exactly as DESIGN.md states it; smaller
    wins. `twin`: a linked sibling was placed at the school (the twins rule)."""
    home = applicant.ward in school.catchment
    category = bool(applicant.priority_category)
    policy = round_.policy
    sibling = (policy.sibling_priority and school.code in applicant.sibling_schools) or twin
    if policy.sibling_priority or policy.twins_together:
        tiers = {(True, True): 1, (True, False): 3, (False, True): 4, (False, False): 5}
        tier = 1 if home and category else 2 if home and sibling else tiers[(home, sibling)]
    else:
        tier = 1 if home and category else 2 if home else 3
    distance = 0
    if policy.distance_tiebreak:
        a_lat, a_lon, s_lat, s_lon = applicant.lat, applicant.lon, school.lat, school.lon
        if a_lat is None or a_lon is None or s_lat is None or s_lon is None:
            distance = UNKNOWN_DISTANCE
        else:
            distance = haversine_m(a_lat, a_lon, s_lat, s_lon)
    own = hmac_lottery(round_.seed, applicant.citizen_id)
    return tier, distance, draw_number(applicant, round_), own


def linked_siblings(applicant: Applicant, round_: Round) -> list[Applicant]:
    """The applicant's linked siblings in the round: same household, same pass (on time
    or late), the applicant included; none without a household."""
    if applicant.household is None:
        return []
    return [
        other
        for other in round_.applicants
        if other.household == applicant.household and other.late == applicant.late
    ]


def draw_number(applicant: Applicant, round_: Round) -> int:
    """The number the child draws with: with the shared sibling lottery, the smallest own
    number among the linked siblings; else its own."""
    own = hmac_lottery(round_.seed, applicant.citizen_id)
    if not round_.policy.shared_sibling_lottery:
        return own
    siblings = linked_siblings(applicant, round_)
    return min([own, *(hmac_lottery(round_.seed, s.citizen_id) for s in siblings)])


def schools_by_code(schools: Sequence[School]) -> dict[str, School]:
    """Index of schools."""
    return {s.code: s for s in schools}

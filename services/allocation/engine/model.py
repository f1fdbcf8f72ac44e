"""Plain data of an allocation: the inputs, the policy, and what comes out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

PlacedBy = Literal["preference", "guarantee", "unplaced"]
Pool = Literal["general", "reserved"]
Reason = Literal["catchment_full", "no_catchment_school"]
Outcome = Literal["admitted", "rejected", "not_reached", "ignored"]

# Codes of the per-applicant arrays of an Allocation.
BY_PREFERENCE, BY_GUARANTEE, UNPLACED = 0, 1, 2
PLACED_BY: tuple[PlacedBy, ...] = ("preference", "guarantee", "unplaced")
NO_REASON, CATCHMENT_FULL, NO_CATCHMENT_SCHOOL = 0, 1, 2
REASONS: tuple[Reason | None, ...] = (None, "catchment_full", "no_catchment_school")

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class School:
    """A school of the round's level: its seats and the wards it serves."""

    code: str
    capacity: int
    catchment: frozenset[str]
    lat: float | None = None
    lon: float | None = None
    reserved: int = 0  # seats of `capacity` reserved for children of `reserved_for`
    reserved_for: str | None = None


@dataclass(frozen=True, slots=True)
class Applicant:
    """A verified application: the child, the ward from the register, ranked school codes."""

    reference: str
    citizen_id: str
    ward: str
    preferences: tuple[str, ...]
    priority_category: str | None = None
    sibling_schools: frozenset[str] = frozenset()
    lat: float | None = None
    lon: float | None = None
    household: str | None = None  # the register's household: links siblings in the round
    late: bool = False  # accepted after close: placed after every on-time application


@dataclass(frozen=True, slots=True)
class Policy:
    """How a round allocates; stored with the round and exported with its results."""

    max_preferences: int = 3
    sibling_priority: bool = False
    distance_tiebreak: bool = False
    shared_sibling_lottery: bool = False
    twins_together: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.max_preferences <= 100:
            raise ValueError("max_preferences must be between 1 and 100")

    def to_dict(self) -> dict[str, Any]:
        """The policy as JSON-ready data."""
        return {
            "max_preferences": self.max_preferences,
            "sibling_priority": self.sibling_priority,
            "distance_tiebreak": self.distance_tiebreak,
            "shared_sibling_lottery": self.shared_sibling_lottery,
            "twins_together": self.twins_together,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Policy:
        """The policy stored by `to_dict`; ValueError on unknown options or wrong types."""
        types = {
            "max_preferences": int,
            "sibling_priority": bool,
            "distance_tiebreak": bool,
            "shared_sibling_lottery": bool,
            "twins_together": bool,
        }
        unknown = set(data) - set(types)
        if unknown:
            raise ValueError(f"unknown policy options: {sorted(unknown)}")
        wrong = [name for name, value in data.items() if type(value) is not types[name]]
        if wrong:
            raise ValueError(f"policy options of the wrong type: {sorted(wrong)}")
        return cls(**data)


@dataclass(frozen=True, slots=True)
class Priority:
    """An applicant's standing at one school: lower tier wins, then distance, then lottery."""

    tier: int
    lottery: int
    distance_m: int | None = None


@dataclass(frozen=True, slots=True)
class Placement:
    """Where an applicant ends up and how; `rank` is 1-based and set for `preference` only."""

    reference: str
    school: str | None
    placed_by: PlacedBy
    rank: int | None = None
    reason: Reason | None = None
    pool: Pool | None = None  # which seats it came from; None when unplaced


@dataclass(frozen=True, slots=True)
class PreferenceOutcome:
    """One ranked school of an explanation: the applicant's priority there and what happened."""

    rank: int
    school: str
    outcome: Outcome
    priority: Priority | None
    cutoff: Priority | None
    waitlist_position: int | None = None


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why an applicant got what they got, preference by preference."""

    reference: str
    lottery: int
    placement: Placement
    preferences: tuple[PreferenceOutcome, ...]
    shared_lottery: int | None = None  # the siblings' shared number, when the round shares
    late: bool = False


@dataclass(frozen=True, slots=True)
class Statistics:
    """Figures for the department's preview; shares are of all applicants."""

    applicants: int
    by_preference: int
    by_guarantee: int
    unplaced: int
    first_choice_share: float
    top3_share: float
    unplaced_by_reason: dict[str, int]
    fill_rate: dict[str, float]
    unplaced_by_ward: dict[str, int]  # residence ward (from the register) of the unplaced


@dataclass(frozen=True, eq=False)
class Instance:
    """A round compiled to arrays: one integer priority key per (applicant, preference).

    `pref[a, r]` is the index of the school at rank r (-1: empty, unknown or repeated) and
    `keys[a, r]` its priority key there (see `priority.pack`). `lottery_rank` orders the
    children by lottery; `by_rank` is its inverse. `served[s, w]` says school s serves ward w;
    the last row (school -1) and last column (a ward no school serves) are all False.
    """

    schools: tuple[School, ...]
    applicants: tuple[Applicant, ...]
    policy: Policy
    seed: bytes
    pref: IntArray
    keys: IntArray
    lottery: npt.NDArray[np.uint64]
    lottery_rank: IntArray
    by_rank: IntArray
    ward: IntArray
    category: BoolArray
    capacity: IntArray
    served: BoolArray
    ward_schools: tuple[tuple[int, ...], ...]
    school_index: Mapping[str, int] = field(repr=False)
    # Families, reserved seats and late applications; None when the round has none.
    # `household[a]`: sibling group of a in its pass (-1: none); `shared_lottery[a]`: the
    # group's shared number; `twin[a, r]`: preferred at rank r as a twin; `reserved[s]`:
    # seats reserved; `eligible[a, r]`: a may take a reserved seat at rank r; `late[a]`.
    household: IntArray | None = None
    shared_lottery: npt.NDArray[np.uint64] | None = None
    twin: BoolArray | None = None
    reserved: IntArray | None = None
    eligible: BoolArray | None = None
    late: BoolArray | None = None

    @property
    def width(self) -> int:
        """Preferences considered per applicant."""
        return int(self.pref.shape[1])

    @cached_property
    def applicant_index(self) -> dict[str, int]:
        """Position of each reference."""
        return {a.reference: i for i, a in enumerate(self.applicants)}


@dataclass(frozen=True, eq=False)
class Allocation:
    """The outcome of a round, as arrays over the compiled instance.

    `da_rank[a]` is the rank index deferred acceptance placed a at (-1: none); `school[a]`
    the final school index (-1: unplaced); `placed_by` and `reason` hold the codes above;
    `cutoff[s]` the key of the last admitted by deferred acceptance, -1 if s had a free seat
    (or no seats). Waitlists are stored compressed: school s's is
    `waitlist[waitlist_start[s]:waitlist_start[s + 1]]`, applicant indices in priority order.
    """

    instance: Instance
    da_rank: IntArray
    school: IntArray
    placed_by: IntArray
    reason: IntArray
    cutoff: IntArray
    waitlist_start: IntArray
    waitlist: IntArray
    # Per school, the cutoff of the late pass (None without late applications); per
    # applicant, whether their deferred-acceptance seat came from the reserved pool.
    late_cutoff: IntArray | None = None
    reserved_seat: BoolArray | None = None

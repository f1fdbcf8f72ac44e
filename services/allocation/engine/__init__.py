"""Pure allocation engine: deferred acceptance with catchment priority, guarantee, waitlists.

After publication, offers and the freed-seat chain live in `engine.seats`.
"""

from services.allocation.engine.allocation import allocate, allocate_instance
from services.allocation.engine.checks import (
    AllocationInvariantViolated,
    check_allocation,
    count_blocking_pairs,
    da_ranks_from_assignment,
)
from services.allocation.engine.commitment import inputs_digest, seed_commitment, seed_matches
from services.allocation.engine.deferred_acceptance import deferred_acceptance
from services.allocation.engine.explain import (
    cutoff_table,
    explain,
    placement,
    placements,
    statistics,
)
from services.allocation.engine.export import export_csv, parse_export, verify_export
from services.allocation.engine.instance import compile_instance
from services.allocation.engine.model import (
    Allocation,
    Applicant,
    Explanation,
    Instance,
    Placement,
    Policy,
    PreferenceOutcome,
    Priority,
    School,
    Statistics,
)
from services.allocation.engine.priority import lotteries, lottery
from services.allocation.engine.waitlists import waitlist, waitlist_position

__all__ = [
    "Allocation",
    "AllocationInvariantViolated",
    "Applicant",
    "Explanation",
    "Instance",
    "Placement",
    "Policy",
    "PreferenceOutcome",
    "Priority",
    "School",
    "Statistics",
    "allocate",
    "allocate_instance",
    "check_allocation",
    "compile_instance",
    "count_blocking_pairs",
    "cutoff_table",
    "da_ranks_from_assignment",
    "deferred_acceptance",
    "explain",
    "inputs_digest",
    "export_csv",
    "lotteries",
    "lottery",
    "parse_export",
    "placement",
    "placements",
    "seed_commitment",
    "seed_matches",
    "statistics",
    "verify_export",
    "waitlist",
    "waitlist_position",
]

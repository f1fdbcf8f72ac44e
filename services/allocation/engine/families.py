"""Siblings of one household in a round: one shared lottery number, and twins together.

Linked siblings are the applicants of a round who carry the same `household` and apply
in the same pass (on time, or late: a late sibling never changes an on-time child's draw).

Shared lottery (`Policy.shared_sibling_lottery`): each linked sibling draws with the
smallest of the siblings' own HMAC numbers. Children are ordered by (shared number, own
number), so siblings sit next to each other in the draw and their own numbers break ties
between them: priorities stay strict and deferred acceptance stays well-defined. The
smallest own number, rather than a family HMAC, keeps the draw checkable by anyone from
the export alone (every own number is there), needs no household identifier inside the
HMAC, and gives a family exactly the chance of its luckiest child, no more.

Twins together (`Policy.twins_together`; any linked siblings count as twins, as the engine
knows only the household link): deferred acceptance runs; wherever one sibling was placed
at a school another ranked above their own result, that other becomes preferred there, as
if a sibling were enrolled (the sibling tier of the table in `engine.priority`); then
deferred acceptance runs again. Priorities only ever rise and there are finitely many, so
this reaches a fixed point: the published result is deferred acceptance under the final
priorities, and stability means no blocking pair under those final priorities.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from services.allocation.engine.model import Applicant, IntArray


def household_groups(applicants: Sequence[Applicant]) -> IntArray:
    """Sibling group of each applicant, -1 for a child with no linked sibling in its pass."""
    index: dict[tuple[str, bool], int] = {}
    groups = np.full(len(applicants), -1, dtype=np.int64)
    for a, applicant in enumerate(applicants):
        if applicant.household is not None:
            groups[a] = index.setdefault((applicant.household, applicant.late), len(index))
    if not index:
        return groups
    linked = groups >= 0
    sizes = np.bincount(groups[linked], minlength=len(index))
    groups[linked & (sizes[np.maximum(groups, 0)] < 2)] = -1
    return groups


def shared_lotteries(lottery: npt.NDArray[np.uint64], groups: IntArray) -> npt.NDArray[np.uint64]:
    """Each child's draw number: the smallest own number among its linked siblings."""
    shared = lottery.copy()
    linked = np.flatnonzero(groups >= 0)
    if len(linked):
        smallest = np.full(int(groups.max()) + 1, np.iinfo(np.uint64).max, dtype=np.uint64)
        np.minimum.at(smallest, groups[linked], lottery[linked])
        shared[linked] = smallest[groups[linked]]
    return shared

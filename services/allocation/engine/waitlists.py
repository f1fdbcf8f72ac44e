"""Waitlists: at each school, everyone who ranked it above their result, in priority order."""

from __future__ import annotations

import numpy as np

from services.allocation.engine.model import Allocation, Instance, IntArray


def build_waitlists(instance: Instance, da_rank: IntArray) -> tuple[IntArray, IntArray]:
    """(start, members): school s's waitlist is `members[start[s]:start[s + 1]]`.

    An applicant not placed by preference (guarantee or unplaced) waits at every school
    they ranked; one placed at rank r waits at the schools ranked before r. Late
    applications wait after every on-time one.
    """
    limit = np.where(da_rank >= 0, da_rank, instance.width)
    waiting = (instance.pref >= 0) & (np.arange(instance.width)[None, :] < limit[:, None])
    rows, ranks = np.nonzero(waiting)
    school = instance.pref[rows, ranks]
    keys = instance.keys[rows, ranks]
    if instance.late is None:
        order = np.lexsort((keys, school))
    else:
        order = np.lexsort((keys, instance.late[rows], school))
    start = np.zeros(len(instance.capacity) + 1, dtype=np.int64)
    np.cumsum(np.bincount(school, minlength=len(instance.capacity)), out=start[1:])
    return start, rows[order].astype(np.int64)


def waitlist(allocation: Allocation, school: str) -> tuple[str, ...]:
    """References on a school's waitlist at publication, head first."""
    members = _segment(allocation, school)
    applicants = allocation.instance.applicants
    return tuple(applicants[a].reference for a in members.tolist())


def waitlist_position(allocation: Allocation, reference: str, school: str) -> int | None:
    """1-based place of an applicant on a school's waitlist at publication, None if absent."""
    a = allocation.instance.applicant_index[reference]
    hits = np.flatnonzero(_segment(allocation, school) == a)
    return int(hits[0]) + 1 if len(hits) else None


def _segment(allocation: Allocation, school: str) -> IntArray:
    s = allocation.instance.school_index[school]
    start = allocation.waitlist_start
    return allocation.waitlist[start[s] : start[s + 1]]

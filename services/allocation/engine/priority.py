"""Priority of an applicant at a school: tiers, the HMAC lottery, distance, packed keys.

`engine.instance` applies these to a whole round at once.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from services.allocation.engine.model import Policy

# Tiers, lower wins. Default policy:
#   1 ward in the school's catchment and a verified priority category
#   2 ward in the catchment
#   3 everyone else
# With `sibling_priority` (a sibling from the household is enrolled at the school) or
# `twins_together` (a linked sibling of the round was placed there, see `engine.twins`):
#   1 catchment and category, 2 catchment and sibling, 3 catchment, 4 sibling, 5 everyone else
CATCHMENT_CATEGORY, CATCHMENT, OTHER = 1, 2, 3
S_CATCHMENT_CATEGORY, S_CATCHMENT_SIBLING, S_CATCHMENT, S_SIBLING, S_OTHER = 1, 2, 3, 4, 5

# One int64 key per (applicant, preference), smaller wins:
#   tier << 58 | distance in metres << 32 | lottery rank
# The lottery rank (0 = smallest lottery number) orders exactly as the 64-bit lottery does,
# and it fits in 32 bits, which keeps the key a machine integer. Distance is 0 unless the
# policy breaks ties by distance; unknown distances take the largest value, after known ones.
TIER_SHIFT, DISTANCE_SHIFT = 58, 32
DISTANCE_UNKNOWN = (1 << 26) - 1
RANK_MASK = (1 << 32) - 1
NO_KEY = np.iinfo(np.int64).max
EARTH_RADIUS_M = 6_371_000.0


def lottery(seed: bytes, citizen_id: str) -> int:
    """The child's lottery number for the round: the first 8 bytes of HMAC-SHA256, big-endian."""
    return int.from_bytes(hmac.digest(seed, citizen_id.encode(), "sha256")[:8], "big")


def lotteries(seed: bytes, citizen_ids: Iterable[str]) -> npt.NDArray[np.uint64]:
    """`lottery` for many children at once.

    Same HMAC (RFC 2104), computed from the key's precomputed inner and outer SHA-256
    states, which is about twice as fast as one `hmac.digest` call per child.
    """
    key = hashlib.sha256(seed).digest() if len(seed) > 64 else seed
    key = key.ljust(64, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key)).copy
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in key)).copy

    def mac(citizen_id: str) -> bytes:
        step = inner()
        step.update(citizen_id.encode())
        result = outer()
        result.update(step.digest())
        return result.digest()[:8]

    return np.frombuffer(b"".join(map(mac, citizen_ids)), dtype=">u8").astype(np.uint64)


def tier(in_catchment: bool, category: bool, sibling: bool, policy: Policy) -> int:
    """The tier of one applicant at one school under `policy` (see the table above)."""
    if not policy.sibling_priority:
        if in_catchment:
            return CATCHMENT_CATEGORY if category else CATCHMENT
        return OTHER
    if in_catchment:
        if category:
            return S_CATCHMENT_CATEGORY
        return S_CATCHMENT_SIBLING if sibling else S_CATCHMENT
    return S_SIBLING if sibling else S_OTHER


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> int:
    """Great-circle distance in whole metres (rounded half to even), on a 6,371 km sphere."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return round(2 * EARTH_RADIUS_M * math.asin(math.sqrt(h)))


def pack(tier_: int, lottery_rank: int, distance_m: int = 0) -> int:
    """One priority key; see the layout above."""
    return tier_ << TIER_SHIFT | distance_m << DISTANCE_SHIFT | lottery_rank


def unpack(key: int) -> tuple[int, int, int]:
    """(tier, distance, lottery rank) of a key."""
    return key >> TIER_SHIFT, key >> DISTANCE_SHIFT & DISTANCE_UNKNOWN, key & RANK_MASK

"""Priority: tiers, the HMAC lottery, distances and policy serialisation."""

from __future__ import annotations

import pytest

from services.allocation.engine import Policy, lotteries, lottery
from services.allocation.engine.priority import haversine_m, pack, tier, unpack
from tests.unit.allocation.builders import hmac_lottery


def test_lottery_is_the_first_eight_bytes_of_hmac_sha256_of_the_citizen_id() -> None:
    assert lottery(b"seed", "001221000123") == hmac_lottery(b"seed", "001221000123")
    assert 0 <= lottery(b"seed", "001221000123") < 2**64


@pytest.mark.parametrize("seed", [b"", b"short", bytes(range(64)), bytes(range(200))])
def test_batched_lotteries_equal_one_hmac_per_child(seed: bytes) -> None:
    ids = [f"{i:012d}" for i in range(0, 5000, 7)]
    assert lotteries(seed, ids).tolist() == [hmac_lottery(seed, cid) for cid in ids]


def test_tiers_follow_the_default_policy() -> None:
    default = Policy()
    assert tier(True, True, False, default) == 1
    assert tier(True, False, True, default) == 2  # a sibling counts for nothing by default
    assert tier(False, True, True, default) == 3


def test_sibling_policy_adds_two_tiers() -> None:
    siblings = Policy(sibling_priority=True)
    assert tier(True, True, True, siblings) == 1
    assert tier(True, False, True, siblings) == 2
    assert tier(True, False, False, siblings) == 3
    assert tier(False, True, True, siblings) == 4
    assert tier(False, True, False, siblings) == 5


def test_packed_keys_order_by_tier_then_distance_then_lottery_rank() -> None:
    assert pack(1, 999_999, 50_000) < pack(2, 0, 0)
    assert pack(2, 999_999, 10) < pack(2, 0, 11)
    assert pack(2, 3, 10) < pack(2, 4, 10)
    assert unpack(pack(3, 123_456, 7_890)) == (3, 7_890, 123_456)


def test_haversine_gives_whole_metres() -> None:
    # One degree of latitude on a 6,371 km sphere.
    assert haversine_m(21.0, 105.8, 22.0, 105.8) == 111_195
    assert haversine_m(21.0, 105.8, 21.0, 105.8) == 0


def test_policy_round_trips_through_a_dict() -> None:
    policy = Policy(max_preferences=5, sibling_priority=True, distance_tiebreak=True)
    assert Policy.from_dict(policy.to_dict()) == policy
    assert Policy.from_dict({}) == Policy(3, False, False)


@pytest.mark.parametrize(
    "data",
    [
        {"max_preferences": 0},
        {"lottery": "off"},
        {"sibling_priority": "yes"},
        {"max_preferences": 2.5},
        {"max_preferences": "3"},
        {"distance_tiebreak": 1},
    ],
)
def test_policy_rejects_unknown_or_malformed_options(data: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Policy.from_dict(data)

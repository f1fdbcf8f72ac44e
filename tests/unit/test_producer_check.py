"""A producer's envelope is checked against its contract: by the plan when the plan vouches
for it, else by marshmallow, which still refuses what is malformed."""

from __future__ import annotations

from typing import Any

import pytest
from marshmallow import ValidationError

from shared.contracts.envelope import make_message
from shared.contracts.reading import conforms

VERIFIED: dict[str, Any] = {
    "reference": "TSREF0000000001",
    "round_id": "2027-grade_1",
    "citizen_id": "001221000123",
    "ward_code": "W-01",
    "household_id": "H-1",
    "preferences": ["TH-001"],
    "lat": 21.0,
    "lon": 105.8,
    "with_receipt": True,
}


def test_a_well_formed_event_is_vouched_for_by_the_plan() -> None:
    envelope = make_message("application_verified", VERIFIED)
    assert conforms("application_verified", 1, envelope["payload"])


@pytest.mark.parametrize(
    "changes",
    [
        {"citizen_id": "12345"},  # a validator fails
        {"lat": 123.0},  # out of range
        {"preferences": ["not a code"]},
        {"reference": None},  # required, not nullable
    ],
)
def test_a_malformed_event_is_still_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        make_message("application_verified", {**VERIFIED, **changes})


def test_what_the_plan_cannot_vouch_for_is_judged_by_marshmallow() -> None:
    # A command's unknown key: the plan is unsure, marshmallow refuses it.
    assert not conforms("withdraw_application", 1, {"reference": "TSREF0000000001", "x": 1})
    envelope = make_message(
        "withdraw_application", {"reference": "TSREF0000000001", "round_id": "r"}
    )
    assert envelope["payload"] == {"reference": "TSREF0000000001", "round_id": "r"}

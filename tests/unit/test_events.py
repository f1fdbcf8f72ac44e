"""The message contracts: envelopes are built checked, and anything malformed is poison."""

from __future__ import annotations

from typing import Any

import pytest
from marshmallow import ValidationError

from shared.contracts.envelope import PoisonMessage, make_message, parse_message
from tests.support import factories


def test_an_envelope_round_trips_with_its_payload_typed() -> None:
    envelope = factories.submit_application(reference="TSREF000000000001")

    message = parse_message(envelope, "submit_application")

    assert message.event_id == envelope["event_id"]
    assert message.correlation_id == envelope["event_id"]
    assert message.payload["child"]["date_of_birth"].isoformat() == "2021-03-04"
    assert message.payload["preferences"] == ["TH-001", "TH-002"]


def test_a_payload_that_breaks_its_contract_is_never_built() -> None:
    with pytest.raises(ValidationError):
        make_message("application_received", {"reference": "TSREF"})


def test_an_unknown_version_is_poison() -> None:
    envelope = factories.round_opened()
    envelope["version"] = 99

    with pytest.raises(PoisonMessage, match="invalid fields type"):
        parse_message(envelope)


def test_a_message_of_the_wrong_type_is_poison() -> None:
    with pytest.raises(PoisonMessage):
        parse_message(factories.round_opened(), "round_closed")


@pytest.mark.parametrize("body", [None, "text", [], {"event_id": "x"}])
def test_garbage_is_poison(body: Any) -> None:
    with pytest.raises(PoisonMessage):
        parse_message(body)


def test_the_poison_reason_names_fields_but_never_their_values() -> None:
    envelope = factories.submit_application()
    envelope["payload"]["child"]["full_name"] = ""
    envelope["payload"]["child"]["citizen_id"] = "98765"

    with pytest.raises(PoisonMessage) as caught:
        parse_message(envelope)

    assert str(caught.value) == "malformed message: invalid fields child"
    assert "98765" not in str(caught.value)


def test_events_carry_references_not_personal_data() -> None:
    payload = {"reference": "TSREF000000000001", "round_id": "2027-grade_1", "status": "received"}

    envelope = make_message("application_received", payload, correlation_id="corr-1")

    assert envelope["payload"] == payload
    assert envelope["correlation_id"] == "corr-1"
    assert envelope["version"] == 1

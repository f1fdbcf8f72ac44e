"""Registration's own series, counted from the events it commits (see `shared.metrics`).

Every stored, verified, rejected or refused application commits an event to the outbox in
the same transaction, so counting committed events counts exactly what happened, once,
whichever code path (the intake, the sweep, an amendment) got there. Imported by the
service module, which registers the counting; the series then appear on its endpoint.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from prometheus_client import Counter

from shared.metrics.oncommit import count_events_as

STORED = Counter(
    "registration_applications_stored",
    "New applications stored (one per child and round; each was a 202 at the gateway).",
)
AMENDED = Counter("registration_applications_amended", "Applications amended and stored again.")
VERIFIED = Counter(
    "registration_applications_verified", "Applications that passed the register checks."
)
REJECTED = Counter(
    "registration_applications_rejected", "Applications that failed the register checks."
)
REJECTION_REASONS = Counter(
    "registration_rejection_reasons",
    "Reasons given for rejected applications, by reason code (an application may give several).",
    ["reason"],
)
REFUSED = Counter(
    "registration_applications_refused",
    "Submissions accepted (202) but refused when taken off the queue, by reason.",
    ["reason"],
)
_PLAIN = {"application_received": STORED, "application_amended": AMENDED}
_PLAIN |= {"application_verified": VERIFIED}


def series_of(envelope: Mapping[str, Any]) -> Iterator[tuple[Counter, dict[str, str]]]:
    """The increments one committed registration event makes."""
    kind, payload = envelope["type"], envelope.get("payload") or {}
    if kind in _PLAIN:
        yield _PLAIN[kind], {}
    elif kind == "application_rejected":
        yield REJECTED, {}
        for code in {reason["code"] for reason in payload.get("reasons", ())}:
            yield REJECTION_REASONS, {"reason": str(code)}
    elif kind == "application_refused":
        # The intake refuses only because the round closed in the meantime, so far.
        yield REFUSED, {"reason": str(payload.get("reason") or "round_closed")}


count_events_as("registration", series_of)

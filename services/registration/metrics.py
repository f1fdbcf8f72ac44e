"""Registration's own series, counted from the events it commits (see `shared.metrics`).

Every stored, verified, rejected or refused application commits an event to the outbox in
the same transaction, so counting committed events counts exactly what happened, once,
whichever code path (the intake, the sweep, an amendment) got there. Imported by the
service module, which registers the counting; the series then appear on its endpoint.
"""

from __future__ import annotations

from collections import Counter as TypeCounter
from collections.abc import Iterator, Mapping, Sequence
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
_PLAIN |= {"application_verified": VERIFIED, "application_rejected": REJECTED}


def series_of(
    envelopes: Sequence[Mapping[str, Any]], types: Mapping[str, int]
) -> Iterator[tuple[Counter, dict[str, str], int]]:
    """The increments a batch of committed registration events makes."""
    for kind, counter in _PLAIN.items():
        if types.get(kind):
            yield counter, {}, types[kind]
    if not (types.get("application_rejected") or types.get("application_refused")):
        return
    reasons: TypeCounter[str] = TypeCounter()
    refusals: TypeCounter[str] = TypeCounter()
    for envelope in envelopes:
        payload = envelope.get("payload") or {}
        if envelope["type"] == "application_rejected":
            reasons.update({str(reason["code"]) for reason in payload.get("reasons", ())})
        elif envelope["type"] == "application_refused":
            # The intake refuses only because the round closed in the meantime, so far.
            refusals[str(payload.get("reason") or "round_closed")] += 1
    for code, n in reasons.items():
        yield REJECTION_REASONS, {"reason": code}, n
    for reason, n in refusals.items():
        yield REFUSED, {"reason": reason}, n


count_events_as("registration", series_of)

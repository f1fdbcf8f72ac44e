"""What must hold after every fault: nothing lost, nothing doubled, nothing stuck.

Checked against the databases, the broker and the mail and SMS sinks themselves, never
against the processes' own reports: every application answered 202 is stored exactly once
and was verified, rejected or refused; every refused one carries its refusal (shown to the
family) and its notice reached the guardian; every receipt reached the guardian once per
channel (counted in what the SMTP and SMS sinks received, by the message's fixed key); the
queues and dead-letter queues are empty, except for poison injected on purpose.
"""

from __future__ import annotations

import email
import email.parser
import email.policy
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests
from sqlalchemy import create_engine, text

if TYPE_CHECKING:
    from tests.support.system import RunningSystem

# A receipt goes out alone, or with its verdict when the check ran in the same transaction.
RECEIPTS = ("application_received", "application_checked", "application_received_rejected")
REFUSAL = "application_refused"


@dataclass
class Verdict:
    """Counts behind each invariant; `ok` when all of them hold."""

    answered: int = 0
    stored_once: int = 0
    lost: int = 0
    duplicated: int = 0
    unchecked: int = 0
    refused: int = 0  # stored as `refused` (answered 202, refused after): allowed if shown
    refused_unshown: int = 0  # refused with no refusal kept on the application
    refused_untold: int = 0  # refused, and no refusal notice reached the guardian's e-mail
    receipts: dict[str, int] = field(default_factory=dict)  # channel -> receipts delivered
    receipts_missing: dict[str, int] = field(default_factory=dict)
    receipts_doubled: dict[str, int] = field(default_factory=dict)
    uncertain: int = 0  # sends interrupted before they were recorded: never sent again
    queued: dict[str, int] = field(default_factory=dict)
    dead: dict[str, int] = field(default_factory=dict)
    expected_dead: int = 0
    allow_uncertain: bool = False

    @property
    def ok(self) -> bool:
        """Whether every invariant holds."""
        missing = sum(self.receipts_missing.values())
        return (
            self.lost == 0
            and self.duplicated == 0
            and self.unchecked == 0
            and self.refused_unshown == 0
            and self.refused_untold == 0
            and (missing == 0 or (self.allow_uncertain and missing <= self.uncertain))
            and not any(self.receipts_doubled.values())
            and not any(self.queued.values())
            and sum(self.dead.values()) == self.expected_dead
        )

    def summary(self) -> str:
        """One line of figures."""
        channels = "; ".join(
            f"{channel} receipts delivered: {self.receipts.get(channel, 0):,}, missing:"
            f" {self.receipts_missing.get(channel, 0)}, delivered twice:"
            f" {self.receipts_doubled.get(channel, 0)}"
            for channel in sorted(self.receipts)
        )
        queued = ", ".join(f"{name}: {n}" for name, n in sorted(self.queued.items()))
        return (
            f"answered 202: {self.answered:,}; stored once: {self.stored_once:,}; lost:"
            f" {self.lost}; duplicated: {self.duplicated}; left unchecked: {self.unchecked};"
            f" refused after the 202: {self.refused} (not shown: {self.refused_unshown}, not"
            f" notified: {self.refused_untold});"
            f" {channels}; sends interrupted and left uncertain: {self.uncertain};"
            f" messages left in work queues: {sum(self.queued.values())}"
            f"{f' ({queued})' if queued else ''}; in dead-letter queues:"
            f" {sum(self.dead.values())} (expected {self.expected_dead})"
        )


def rows(db_uri: str, sql: str) -> list[Any]:
    """Every row of one query."""
    engine = create_engine(db_uri)
    try:
        with engine.connect() as connection:
            return list(connection.execute(text(sql)).tuples())
    finally:
        engine.dispose()


def queue_depths(management: str, amqp_uri: str) -> dict[str, int]:
    """Messages (ready + unacked) in every queue of the vhost, from the management API."""
    from urllib.parse import quote

    vhost = quote(amqp_uri.rsplit("/", 1)[1], safe="")
    answer = requests.get(f"{management}/api/queues/{vhost}", auth=("guest", "guest"), timeout=10)
    answer.raise_for_status()
    return {queue["name"]: int(queue.get("messages", 0)) for queue in answer.json()}


class Sinks:
    """What the SMTP and SMS sinks received, as counts per message key (`<event>.<channel>`);
    read incrementally, since a check runs many times while a run settles."""

    def __init__(self, maildir: Path, sms_outbox: Path) -> None:
        self.maildir, self.sms_outbox = maildir, sms_outbox
        self._seen: set[str] = set()
        self._sms_offset = 0
        self.keys: Counter[str] = Counter()  # "<event_id>.<channel>" -> copies received
        self.templates: dict[str, str] = {}

    def read(self) -> Counter[str]:
        """Take in what arrived since the last call; every key's count so far."""
        if self.maildir.exists():
            for path in self.maildir.glob("*.eml"):
                if path.name in self._seen:
                    continue
                self._seen.add(path.name)
                with open(path, "rb") as handle:
                    headers = email.parser.BytesHeaderParser(policy=email.policy.compat32)
                    message = headers.parse(handle)
                key = "".join(str(message["Message-ID"] or "").split()).strip("<>").split("@")[0]
                self.keys[key] += 1
                self.templates[key] = str(message["X-Tuyensinh-Template"] or "")
        if self.sms_outbox.exists():
            with open(self.sms_outbox, encoding="utf-8") as handle:
                handle.seek(self._sms_offset)
                for line in handle:
                    if line.endswith("\n"):
                        self.keys[json.loads(line)["client_ref"]] += 1
                        self._sms_offset += len(line.encode("utf-8"))
        return self.keys


def check(
    system: RunningSystem,
    answered: set[str],
    *,
    expected_dead: int = 0,
    receipts: bool = True,
    allow_uncertain: bool = False,
    sinks: Sinks | None = None,
) -> Verdict:
    """Check the invariants for the applications in `answered` (references answered 202)."""
    databases = system.databases
    verdict = Verdict(
        answered=len(answered), expected_dead=expected_dead, allow_uncertain=allow_uncertain
    )
    counts = dict(
        rows(
            databases["registration"],
            "SELECT reference, count(*) FROM applications GROUP BY reference",
        )
    )
    stored = dict(rows(databases["registration"], "SELECT reference, status FROM applications"))
    verdict.stored_once = sum(1 for ref in answered if counts.get(ref) == 1)
    verdict.lost = sum(1 for ref in answered if ref not in counts)
    verdict.duplicated = sum(1 for ref in answered if counts.get(ref, 0) > 1)
    verdict.unchecked = sum(1 for ref in answered if stored.get(ref) == "received")
    shown = {
        ref
        for (ref,) in rows(
            databases["registration"],
            "SELECT reference FROM applications WHERE refusal IS NOT NULL",
        )
    }
    refused = {ref for ref in answered if stored.get(ref) == "refused"}
    verdict.refused = len(refused)
    verdict.refused_unshown = len(refused - shown)
    if receipts:
        # A refused submission gets the refusal's notice instead of a receipt.
        _check_receipts(system, answered - refused, verdict, sinks)
        told = _told_of_refusal(system, refused, sinks)
        verdict.refused_untold = len(refused - told)
    depths = queue_depths(system.management, system.amqp_uri)
    verdict.dead = {name: n for name, n in depths.items() if name.endswith(".dead") and n}
    verdict.queued = {
        name: n
        for name, n in depths.items()
        if n and not name.endswith(".dead") and not name.startswith(("tuyensinh.delay", "test."))
    }
    return verdict


def _check_receipts(
    system: RunningSystem, answered: set[str], verdict: Verdict, sinks: Sinks | None
) -> None:
    # The notification ledger names each delivery's event and status; the sinks say what
    # actually reached the guardian. A receipt is (reference, channel) for the receipt template.
    ledger = rows(
        system.databases["notification"],
        "SELECT event_id, channel, reference, status FROM deliveries"
        f" WHERE template IN {RECEIPTS} AND channel IN ('email', 'sms')",
    )
    received = (sinks or Sinks(system.maildir, system.sms_outbox)).read()
    channels = ["email", "sms"] if system.env.get("SMS_TRANSPORT") == "http" else ["email"]
    delivered: dict[str, Counter[str]] = {channel: Counter() for channel in channels}
    uncertain = 0
    for event_id, channel, reference, status in ledger:
        if channel not in delivered or reference not in answered:
            continue
        copies = received.get(f"{event_id}.{channel}", 0)
        delivered[channel][reference] += copies
        uncertain += status == "uncertain"
    for channel, per_reference in delivered.items():
        verdict.receipts[channel] = sum(1 for ref in answered if per_reference[ref] >= 1)
        verdict.receipts_missing[channel] = sum(1 for ref in answered if per_reference[ref] == 0)
        verdict.receipts_doubled[channel] = sum(1 for ref in answered if per_reference[ref] > 1)
    verdict.uncertain = uncertain


def _told_of_refusal(system: RunningSystem, refused: set[str], sinks: Sinks | None) -> set[str]:
    """The refused applications whose refusal notice reached the guardian by e-mail."""
    if not refused:
        return set()
    ledger = rows(
        system.databases["notification"],
        "SELECT event_id, reference FROM deliveries"
        f" WHERE template = '{REFUSAL}' AND channel = 'email'",
    )
    received = (sinks or Sinks(system.maildir, system.sms_outbox)).read()
    return {ref for event_id, ref in ledger if received.get(f"{event_id}.email", 0) >= 1}

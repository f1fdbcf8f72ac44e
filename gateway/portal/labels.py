"""Words for the codes the API answers with (levels, statuses, reasons), in both languages."""

from __future__ import annotations

from gateway.portal.i18n import gettext, lazy

LEVELS = {
    "kindergarten": lazy("Kindergarten"),
    "grade_1": lazy("Grade 1"),
    "grade_6": lazy("Grade 6"),
}
AGES = {"kindergarten": 5, "grade_1": 6, "grade_6": 11}

APPLICATION_STATUSES = {
    "received": lazy("Received"),
    "verified": lazy("Checked against the population register"),
    "rejected": lazy("Not accepted: details do not match the register"),
    "withdrawn": lazy("Withdrawn"),
    "refused": lazy("Not accepted after it was received"),
    "offered": lazy("Seat offered"),
    "waitlisted": lazy("On a waiting list"),
    "unplaced": lazy("No seat yet"),
    "accepted": lazy("Offer accepted"),
    "declined": lazy("Offer declined"),
    "expired": lazy("Offer expired"),
    "enrolled": lazy("Enrolled"),
    "school_rejected": lazy("Not enrolled by the school"),
}
ROUND_STATUSES = {
    "draft": lazy("Draft"),
    "open": lazy("Open for applications"),
    "closed": lazy("Closed"),
    "allocated": lazy("Allocated (preview)"),
    "published": lazy("Published"),
    "finalized": lazy("Finalized"),
}
OUTCOMES = {
    "admitted": lazy("Admitted"),
    "rejected": lazy("Not admitted: the seats went to children with higher priority"),
    "not_reached": lazy("Not needed: a higher choice was admitted"),
    "ignored": lazy("Not considered"),
    "not_considered": lazy("Not considered: already placed in an earlier round"),
}
TIERS = {
    1: lazy("Tier 1: lives in the catchment, with a priority category"),
    2: lazy("Tier 2: lives in the catchment"),
    3: lazy("Tier 3: lives outside the catchment"),
}
PLACED_BY = {
    "preference": lazy("by your ranked choices"),
    "guarantee": lazy("by the catchment guarantee"),
    "unplaced": lazy("not placed"),
}
UNPLACED_REASONS = {
    "catchment_full": lazy("Every school serving your ward is full"),
    "no_catchment_school": lazy("No school of this level serves your ward"),
    "already_placed": lazy("Already placed in an earlier round"),
}
# What a refusal after "received" was about (the API's `refusal.what`).
REFUSED_CHANGES = {
    "submission": lazy("The application"),
    "amendment": lazy("Your change to the application"),
    "withdrawal": lazy("Your request to withdraw the application"),
    "erasure": lazy("Your request to erase the child's data"),
}
JOBS = {"allocate": lazy("allocating"), "publish": lazy("publishing")}
# The stages a family goes through, in order, for the timeline.
TIMELINE = ("received", "verified", "offered", "accepted", "enrolled")


def word(table: dict[str, str] | dict[int, str], code: object) -> str:
    """The translated word for a code, or the code itself when there is none."""
    text = table.get(code)  # type: ignore[call-overload]
    return gettext(text) if text else str(code or "")


TABLES: dict[str, dict[str, str] | dict[int, str]] = {
    "level": LEVELS,
    "status": APPLICATION_STATUSES,
    "round": ROUND_STATUSES,
    "outcome": OUTCOMES,
    "tier": TIERS,
    "placed_by": PLACED_BY,
    "unplaced": UNPLACED_REASONS,
    "job": JOBS,
}


def label(table: str, code: object) -> str:
    """`word` for templates: `label("level", "grade_1")` → "Lớp 1"."""
    return word(TABLES[table], code)

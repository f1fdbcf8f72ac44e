"""Words for the codes the API answers with (levels, statuses, reasons), in both languages."""

from __future__ import annotations

from gateway.portal.i18n import gettext, lazy
from shared.contracts.rounds import parse_round_id

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
# What a family reads on "who opened this record" (the audit log's actions).
AUDIT_ACTIONS = {
    "application.submit": lazy("Submitted the application"),
    "application.withdraw": lazy("Withdrew the application"),
    "application.erasure": lazy("Asked to erase the child's data"),
    "intake.read": lazy("Opened the school's list of allocated children"),
    "intake.confirm": lazy("Confirmed the enrolment"),
    "intake.reject": lazy("Did not enrol the child"),
    "offer.accept": lazy("Accepted the offer"),
    "offer.decline": lazy("Declined the offer"),
    "round.export_results": lazy("Exported the round's results"),
    "audit.search": lazy("Looked up this application's audit trail"),
    "audit.export": lazy("Exported the audit trail"),
    "helpdesk.register": lazy("Registered the application for the family"),
    "helpdesk.read": lazy("Opened the application"),
    "correction.request": lazy("Asked for a correction of the register data"),
    "correction.read": lazy("Opened the correction request"),
    "correction.evidence": lazy("Opened the correction request's evidence"),
    "correction.decide": lazy("Decided on the correction request"),
    "correction.approved": lazy("Corrected the register and checked the application again"),
    "correction.refused": lazy("Refused the correction request"),
}
CORRECTIONS = {
    "pending": lazy("Being reviewed"),
    "approved": lazy("Approved"),
    "refused": lazy("Not approved"),
}
REJECTION_CODES = {
    "not_in_register": lazy("Citizen ID not in the register"),
    "name_mismatch": lazy("Name does not match"),
    "birth_date_mismatch": lazy("Birth date does not match"),
}
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
    "audit_action": AUDIT_ACTIONS,
    "correction": CORRECTIONS,
    "rejection": REJECTION_CODES,
}


def round_name(round_id: str) -> str:
    """A round as people say it: "Lớp 1 năm học 2027–2028" for `2027-grade_1`."""
    parsed = parse_round_id(round_id)
    if parsed is None or parsed[1] not in LEVELS:
        return round_id
    year, level, number, practice = parsed
    name = gettext(
        "%(level)s, school year %(start)s–%(end)s",
        level=word(LEVELS, level),
        start=year,
        end=year + 1,
    )
    if number > 1:
        name = gettext("%(name)s, round %(number)s", name=name, number=number)
    return gettext("Practice: %(name)s", name=name) if practice else name


# A school's kind, in front of its name; the drop-downs of one level leave it out, so that a
# phone's narrow select still shows the code and the part of the name that tells schools apart.
SCHOOL_KINDS = ("Trường Mầm non ", "Trường Tiểu học ", "Trường THCS ", "Trường Trung học cơ sở ")


def school_choice(code: str, name: str) -> str:
    """A school as a drop-down option: "TH-0001 · Hoàn Kiếm" for Trường Tiểu học Hoàn Kiếm."""
    short = next((name[len(k) :] for k in SCHOOL_KINDS if name.startswith(k)), name)
    return f"{code} · {short}"


def label(table: str, code: object) -> str:
    """`word` for templates: `label("level", "grade_1")` → "Lớp 1"."""
    return word(TABLES[table], code)

"""Siblings, reserved seats and late applications on small rounds, and the verifier on them:
an untouched export verifies, a tampered one does not."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from services.allocation.engine import (
    Applicant,
    Policy,
    School,
    allocate,
    explain,
    export_csv,
    inputs_digest,
    parse_export,
    placement,
    verify_export,
)
from services.allocation.engine.export import EXPORT_COLUMNS, OLDER_COLUMNS
from tests.unit.allocation.builders import (
    SEED,
    child,
    hmac_lottery,
    ids_by_lottery,
    school,
    small_round_text,
)

Row = dict[str, str]


def family(
    reference: str, household: str | None, *prefs: str, citizen_id: str, late: bool = False
) -> Applicant:
    kid = child(reference, "W9", *prefs, citizen_id=citizen_id)
    return Applicant(**{**_fields(kid), "household": household, "late": late})


def _fields(applicant: Applicant) -> dict[str, object]:
    return {name: getattr(applicant, name) for name in Applicant.__slots__}


def twins_round(policy: Policy) -> str:
    """Twins T1 (best number) and T2 (third) both rank A (2 seats) then B; X (second)
    ranks A then B. Without the twins rule X takes A's second seat."""
    best, second, third = ids_by_lottery(3)
    schools = [school("A", 2, "W1"), school("B", 5, "W1")]
    kids = [
        family("T1", "H1", "A", "B", citizen_id=best),
        family("T2", "H1", "A", "B", citizen_id=third),
        family("X", None, "A", "B", citizen_id=second),
    ]
    return "".join(export_csv(allocate(schools, kids, SEED, policy)))


def shared_round() -> tuple[str, list[str]]:
    """Siblings S1 (worst own number) and S2 (best) share S2's number; O sits in between."""
    best, middle, worst = ids_by_lottery(3)
    schools = [school("A", 1, "W1")]
    kids = [
        family("S1", "H2", "A", citizen_id=worst),
        family("S2", "H2", citizen_id=best),  # ranks nothing: only lends its number
        family("O", None, "A", citizen_id=middle),
    ]
    policy = Policy(shared_sibling_lottery=True)
    text = "".join(export_csv(allocate(schools, kids, SEED, policy)))
    return text, [best, middle, worst]


def edit(text: str, change: Callable[[Row], None]) -> list[str]:
    """The export with each applicant row passed through `change`."""
    meta = [line for line in text.splitlines(keepends=True) if line.startswith("# ")]
    body = [line for line in text.splitlines(keepends=True) if not line.startswith("# ")]
    rows = list(csv.DictReader(body))
    for row in rows:
        change(row)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return [*meta, *out.getvalue().splitlines(keepends=True)]


def lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def test_twins_are_placed_together_when_the_option_is_on() -> None:
    apart = parse_export(lines(twins_round(Policy())))
    together = parse_export(lines(twins_round(Policy(twins_together=True))))
    assert {r.reference: r.school for r in apart.results} == {"T1": "A", "T2": "B", "X": "A"}
    assert {r.reference: r.school for r in together.results} == {"T1": "A", "T2": "A", "X": "B"}


def test_a_twins_export_verifies_and_a_tampered_one_does_not() -> None:
    text = twins_round(Policy(twins_together=True))
    digest = inputs_digest(parse_export(lines(text)).applicants)
    assert verify_export(lines(text), digest=digest).ok

    def split_up(row: Row) -> None:  # the result the twins rule forbids
        row["school"] = {"T2": "B", "X": "A"}.get(row["reference"], row["school"])
        row["rank"] = {"T2": "2", "X": "1"}.get(row["reference"], row["rank"])

    report = verify_export(edit(text, split_up), digest=digest)
    assert not report.ok
    assert report.mismatches == 2
    assert report.blocking_pairs == 1  # T2 is preferred at A under the final priorities

    def unlinked(row: Row) -> None:  # the link dropped after the digest was published
        row["household"] = ""

    assert verify_export(edit(text, unlinked), digest=digest).inputs_committed is False


def test_siblings_share_the_smallest_of_their_numbers_and_the_verifier_checks_it() -> None:
    text, (best, middle, worst) = shared_round()
    exported = parse_export(lines(text))
    shared = {r.reference: r.shared_lottery for r in exported.results}
    assert shared == {
        "S1": hmac_lottery(SEED, best),
        "S2": hmac_lottery(SEED, best),
        "O": hmac_lottery(SEED, middle),
    }
    assert {r.reference: r.school for r in exported.results}["S1"] == "A"
    assert verify_export(lines(text)).ok

    def own_number(row: Row) -> None:  # S1 claims to have drawn with its own number
        if row["reference"] == "S1":
            row["shared_lottery"] = str(hmac_lottery(SEED, worst))

    report = verify_export(edit(text, own_number))
    assert report.lottery_mismatches == 1
    assert not report.ok


def test_reserved_seats_go_to_the_category_first_and_unused_ones_back_to_everyone() -> None:
    best, second, third, fourth = ids_by_lottery(4)
    schools = [
        School(code, 2, frozenset({"W1"}), reserved=1, reserved_for="disability")
        for code in ("A", "B")
    ]
    kids = [
        child("P1", "W9", "A", citizen_id=best),
        child("P2", "W9", "A", "B", citizen_id=second),
        child("D", "W9", "A", citizen_id=fourth, category="disability"),
        child("Q", "W9", "B", citizen_id=third),
    ]
    result = allocate(schools, kids, SEED)
    assert placement(result, "D").pool == "reserved"  # the worst number, the reserved seat
    assert placement(result, "P1").pool == "general"
    assert placement(result, "P2").school == "B"  # A's other seat was reserved
    assert placement(result, "P2").pool == "general"  # B's unused reserve, refilled
    assert explain(result, "D").placement.pool == "reserved"
    text = "".join(export_csv(result))
    assert verify_export(lines(text)).ok

    def moved(row: Row) -> None:
        if row["reference"] == "D":
            row["pool"] = "general"

    assert not verify_export(edit(text, moved)).ok


def test_a_late_application_takes_only_the_seats_left() -> None:
    best, second = ids_by_lottery(2)
    schools = [school("A", 1, "W1"), school("B", 1, "W2")]
    kids = [
        family("LATE", None, "A", "B", citizen_id=best, late=True),
        family("ON", None, "A", citizen_id=second),
    ]
    result = allocate(schools, kids, SEED)
    assert placement(result, "ON").school == "A"  # a better number, but late
    assert placement(result, "LATE").school == "B"
    assert explain(result, "LATE").late
    assert verify_export(lines("".join(export_csv(result)))).ok


def test_an_export_from_before_these_columns_still_verifies() -> None:
    text = small_round_text()
    rows = list(csv.reader(io.StringIO(text)))
    keep = [EXPORT_COLUMNS.index(c) for c in OLDER_COLUMNS]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in rows:
        if row[0].startswith("# school"):
            row = row[:6]
        elif not row[0].startswith("#"):
            row = [row[i] for i in keep]
        if row[0].startswith("# "):
            out.write("# ")
            writer.writerow([row[0][2:], *row[1:]])
        else:
            writer.writerow(row)
    older = lines(out.getvalue())
    digest = inputs_digest(parse_export(lines(text)).applicants)
    assert verify_export(older, digest=digest).ok

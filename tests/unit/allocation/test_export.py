"""The results export, read back and verified by a third party."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from services.allocation.engine import Policy
from services.allocation.engine.export import EXPORT_COLUMNS, parse_export, verify_export
from tests.unit.allocation.builders import SEED, small_round_text
from tools.verify_allocation import main as verify_main


def test_export_starts_with_the_metadata_a_verifier_needs() -> None:
    lines = small_round_text().splitlines()
    assert lines[0] == "# tuyensinh allocation export 1"
    assert lines[1] == f"# seed,{SEED.hex()}"
    assert lines[2] == f"# seed_commitment,{hashlib.sha256(SEED).hexdigest()}"
    assert lines[3].startswith("# inputs_digest,")
    assert lines[4].startswith("# policy,")
    assert lines[5] == "# school,A,1,W1,21.0,105.8,0,"  # no reserved seats
    assert lines[8].startswith("reference,citizen_id,ward,")
    assert len(lines) == 9 + 5


def test_export_reads_back_to_the_same_inputs() -> None:
    exported = parse_export(small_round_text().splitlines(keepends=True))
    assert exported.seed == SEED
    assert exported.policy == Policy(sibling_priority=True)
    assert [s.code for s in exported.schools] == ["A", "B", "C"]
    assert exported.schools[1].catchment == frozenset({"W1", "W2"})
    r1, r2, r3 = exported.applicants[:3]
    assert (r1.priority_category, r1.lat, r1.lon) == ("policy", 21.01, 105.8)
    assert r2.sibling_schools == frozenset({"A", "B"})
    assert r3.preferences == ("A", "UNKNOWN")
    assert [(r.school, r.placed_by) for r in exported.results] == [
        ("A", "preference"),
        ("B", "preference"),
        ("B", "guarantee"),
        (None, "unplaced"),
        ("C", "preference"),
    ]


@pytest.mark.parametrize(
    "policy", [Policy(), Policy(max_preferences=2, distance_tiebreak=True, sibling_priority=True)]
)
def test_an_untouched_export_verifies(policy: Policy) -> None:
    report = verify_export(small_round_text(policy).splitlines(keepends=True))
    assert report.ok
    assert (report.applicants, report.mismatches, report.blocking_pairs) == (5, 0, 0)


def test_verifier_catches_a_swapped_seat() -> None:
    text = small_round_text().replace(",A,preference,1,,", ",X,preference,1,,", 1)
    text = text.replace(",B,preference,2,,", ",A,preference,1,,", 1)
    text = text.replace(",X,preference,1,,", ",B,preference,2,,", 1)
    report = verify_export(text.splitlines(keepends=True))
    assert not report.ok
    assert report.mismatches == 2
    assert report.mismatched == ("R1", "R2")
    assert report.blocking_pairs == 1


def test_verifier_catches_a_forged_lottery_number_and_an_overfull_school() -> None:
    lines = small_round_text().splitlines(keepends=True)
    header = next(i for i, line in enumerate(lines) if line.startswith("reference,"))
    row = lines[header + 5].rstrip("\n").split(",")
    column = {name: i for i, name in enumerate(EXPORT_COLUMNS)}
    row[column["lottery"]] = "1"  # R5's lottery, and a seat at A on top of R1's
    row[column["school"]], row[column["placed_by"]], row[column["rank"]] = "A", "guarantee", ""
    lines[header + 5] = ",".join(row) + "\n"
    report = verify_export(lines)
    assert report.lottery_mismatches == 1
    assert report.over_capacity == ("A",)
    assert report.mismatched == ("R5",)


def test_verifier_refuses_a_file_that_is_not_an_export() -> None:
    with pytest.raises(ValueError):
        verify_export(["reference,school\n", "R1,A\n"])


def test_command_line_exits_zero_on_match_and_one_otherwise(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "results.csv"
    good.write_text(small_round_text(), encoding="utf-8")
    assert verify_main([str(good)]) == 0
    assert "MATCH" in capsys.readouterr().out

    bad = tmp_path / "tampered.csv"
    text = small_round_text().replace(",C,preference,1,,", ",,unplaced,,no_catchment_school,")
    bad.write_text(text, encoding="utf-8")
    assert verify_main([str(bad)]) == 1
    out = capsys.readouterr().out
    assert "MISMATCH" in out
    assert "blocking pairs:     2" in out  # R4 and R5 both want C's empty seat

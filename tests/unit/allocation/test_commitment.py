"""The committed seed and inputs digest: a redrawn seed or changed inputs are caught."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from services.allocation.engine import inputs_digest, parse_export, seed_commitment, verify_export
from tests.unit.allocation.builders import SEED, small_round_text
from tools.verify_allocation import main as verify_main


def published() -> tuple[str, str, list[str]]:
    """The commitment and digest as published, and the export's lines."""
    lines = small_round_text().splitlines(keepends=True)
    exported = parse_export(lines)
    return seed_commitment(SEED), inputs_digest(exported.applicants), lines


def test_the_commitment_is_the_seeds_sha256_and_the_digest_ignores_order() -> None:
    assert seed_commitment(SEED) == hashlib.sha256(SEED).hexdigest()
    applicants = parse_export(small_round_text().splitlines(keepends=True)).applicants
    assert inputs_digest(reversed(applicants)) == inputs_digest(applicants)
    assert inputs_digest(applicants[1:]) != inputs_digest(applicants)


def test_an_export_matching_what_was_published_verifies() -> None:
    commitment, digest, lines = published()
    report = verify_export(lines, commitment, digest)
    assert report.ok
    assert (report.seed_committed, report.inputs_committed) == (True, True)


def test_a_seed_other_than_the_one_committed_at_close_is_rejected() -> None:
    _, digest, lines = published()
    redrawn = seed_commitment(bytes(32))  # what was published at close was another seed
    report = verify_export(lines, redrawn, digest)
    assert report.seed_committed is False
    assert not report.ok
    assert report.mismatches == 0  # the allocation itself is consistent with its seed


def test_inputs_other_than_those_digested_before_the_results_are_rejected() -> None:
    commitment, _, lines = published()
    applicants = parse_export(lines).applicants
    earlier = inputs_digest(applicants[:-1])  # one application was added after the digest
    report = verify_export(lines, commitment, earlier)
    assert report.inputs_committed is False
    assert not report.ok


def test_an_export_contradicting_its_own_statement_is_rejected() -> None:
    _, _, lines = published()
    forged = [
        "# seed_commitment," + "0" * 64 + "\n" if line.startswith("# seed_commitment,") else line
        for line in lines
    ]
    assert verify_export(forged).seed_committed is False
    assert verify_export(lines).seed_committed is True


def test_the_command_line_takes_the_published_figures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    commitment, digest, lines = published()
    export = tmp_path / "results.csv"
    export.write_text("".join(lines), encoding="utf-8")
    assert verify_main([str(export), "--commitment", commitment, "--digest", digest]) == 0
    assert "seed commitment:    matches" in capsys.readouterr().out
    assert verify_main([str(export), "--commitment", seed_commitment(bytes(32))]) == 1
    out = capsys.readouterr().out
    assert "seed commitment:    DOES NOT MATCH" in out
    assert "MISMATCH" in out

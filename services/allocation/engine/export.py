"""The results export (one CSV a third party can verify) and the verifier that reads it.

Format, UTF-8, in this order:

    # tuyensinh allocation export 1
    # seed,<round seed in hex>
    # seed_commitment,<SHA-256 of the seed, as published at close>
    # inputs_digest,<SHA-256 of the applicants' inputs, as published before results>
    # policy,<the policy as JSON>
    # school,<code>,<capacity>,<catchment wards joined by |>,<lat>,<lon>    (one per school)
    reference,citizen_id,ward,...                                          (EXPORT_COLUMNS)
    <one row per applicant>

Each `#` line is itself a CSV record after its `# ` prefix. Lists (catchment wards, sibling
schools, preferences) are joined by `|`; an absent value is empty. `preferences` are the
applicant's ranked codes as submitted; `rank` is the 1-based preference placed at (only for
`placed_by` = preference); `lottery` is the decimal HMAC lottery number. From this file
alone the allocation can be recomputed and compared, and its stability counted; with the
commitment and digest published earlier (see `engine.commitment`), also that the seed and the
inputs are the ones committed to before any result was seen.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice, repeat

import numpy as np

from services.allocation.engine.allocation import allocate
from services.allocation.engine.checks import (
    count_blocking_pairs,
    da_ranks_from_assignment,
    over_capacity,
)
from services.allocation.engine.commitment import (
    INPUT_COLUMNS,
    SEPARATOR,
    input_cells,
    inputs_digest,
    join_codes,
    number,
    seed_commitment,
    seed_matches,
)
from services.allocation.engine.explain import placements
from services.allocation.engine.model import Allocation, Applicant, Policy, School
from services.allocation.engine.priority import lottery

FORMAT = "tuyensinh allocation export 1"
EXPORT_COLUMNS = (
    *INPUT_COLUMNS,
    "school",
    "placed_by",
    "rank",
    "reason",
    "lottery",
)


@dataclass(frozen=True, slots=True)
class ExportedResult:
    """One applicant's published result, as the export states it."""

    reference: str
    school: str | None
    placed_by: str
    rank: int | None
    reason: str | None
    lottery: int


@dataclass(frozen=True, slots=True)
class ExportedRound:
    """Everything an export holds: the inputs of the round and its published results."""

    seed: bytes
    policy: Policy
    schools: tuple[School, ...]
    applicants: tuple[Applicant, ...]
    results: tuple[ExportedResult, ...]
    # As the export states them; None in an export written before commitments existed.
    seed_commitment: str | None = None
    inputs_digest: str | None = None


@dataclass(frozen=True, slots=True)
class Verification:
    """What the verifier found; `ok` when the export is reproducible, stable and within
    capacity, and its seed and inputs are the ones committed to. `mismatched` names up to 20
    applicants whose recomputed result differs. `seed_committed` and `inputs_committed` say
    whether the seed hashes to every commitment given (the export's own and the published
    one) and the inputs to every digest given; None when none was given."""

    applicants: int
    mismatches: int
    mismatched: tuple[str, ...]
    lottery_mismatches: int
    blocking_pairs: int
    over_capacity: tuple[str, ...]
    seed_committed: bool | None = None
    inputs_committed: bool | None = None

    @property
    def ok(self) -> bool:
        """Everything matched."""
        broken = self.seed_committed is False or self.inputs_committed is False
        return not (
            broken
            or self.mismatches
            or self.lottery_mismatches
            or self.blocking_pairs
            or self.over_capacity
        )


def export_rows(allocation: Allocation) -> Iterator[tuple[str, ...]]:
    """The metadata records (first cell starting with `# `), the header, then one row each."""
    inst = allocation.instance
    yield (f"# {FORMAT}",)
    yield ("# seed", inst.seed.hex())
    yield ("# seed_commitment", seed_commitment(inst.seed))
    yield ("# inputs_digest", inputs_digest(inst.applicants))
    yield ("# policy", json.dumps(inst.policy.to_dict(), sort_keys=True))
    for s in inst.schools:
        yield (
            "# school",
            s.code,
            str(s.capacity),
            join_codes(s.catchment),
            number(s.lat),
            number(s.lon),
        )
    yield EXPORT_COLUMNS
    for a, (applicant, placed) in enumerate(
        zip(inst.applicants, placements(allocation), strict=True)
    ):
        yield (
            *input_cells(applicant),
            placed.school or "",
            placed.placed_by,
            "" if placed.rank is None else str(placed.rank),
            placed.reason or "",
            str(int(inst.lottery[a])),
        )


def export_csv(allocation: Allocation, chunk: int = 10_000) -> Iterator[str]:
    """The export as CSV text, in chunks of `chunk` records, ready to stream."""
    rows = export_rows(allocation)
    while batch := list(islice(rows, chunk)):
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        for row in batch:
            if row[0].startswith("# "):
                buffer.write("# ")
                writer.writerow((row[0][2:], *row[1:]))
            else:
                writer.writerow(row)
        yield buffer.getvalue()


def parse_export(lines: Iterable[str]) -> ExportedRound:
    """Read an export back; ValueError if it is not one."""
    meta: list[list[str]] = []
    body: list[str] = []
    for line in lines:
        if not body and line.startswith("# "):
            meta.extend(csv.reader([line[2:]]))
        else:
            body.append(line)
    if not meta or meta[0] != [FORMAT]:
        raise ValueError("not a tuyensinh allocation export")
    named = ("seed", "policy", "seed_commitment", "inputs_digest")
    fields = {row[0]: row[1:] for row in meta[1:] if row[0] in named}
    schools = tuple(
        School(code, int(cap), _split(wards), _float(lat), _float(lon))
        for _, code, cap, wards, lat, lon in (row for row in meta[1:] if row[0] == "school")
    )
    reader = csv.DictReader(body)
    if tuple(reader.fieldnames or ()) != EXPORT_COLUMNS:
        raise ValueError("unexpected columns")
    applicants, results = [], []
    for row in reader:
        applicants.append(
            Applicant(
                reference=row["reference"],
                citizen_id=row["citizen_id"],
                ward=row["ward"],
                preferences=tuple(row["preferences"].split(SEPARATOR))
                if row["preferences"]
                else (),
                priority_category=row["priority_category"] or None,
                sibling_schools=_split(row["sibling_schools"]),
                lat=_float(row["lat"]),
                lon=_float(row["lon"]),
            )
        )
        results.append(
            ExportedResult(
                reference=row["reference"],
                school=row["school"] or None,
                placed_by=row["placed_by"],
                rank=int(row["rank"]) if row["rank"] else None,
                reason=row["reason"] or None,
                lottery=int(row["lottery"]),
            )
        )
    return ExportedRound(
        seed=bytes.fromhex(fields["seed"][0]),
        policy=Policy.from_dict(json.loads(fields["policy"][0])),
        schools=schools,
        applicants=tuple(applicants),
        results=tuple(results),
        seed_commitment=fields["seed_commitment"][0] if "seed_commitment" in fields else None,
        inputs_digest=fields["inputs_digest"][0] if "inputs_digest" in fields else None,
    )


def verify_export(
    lines: Iterable[str], commitment: str | None = None, digest: str | None = None
) -> Verification:
    """Recompute the round from the export alone and compare with what it states.

    Checks each lottery number with a plain `hmac.digest` per child, reruns the allocation
    and compares every result, counts the blocking pairs of the exported assignment, and
    looks for schools over capacity. Checks the seed against the commitment published at
    close (`commitment`) and the inputs against the digest published before the results
    (`digest`), and against the export's own statement of both.
    """
    exported = parse_export(lines)
    commitments = [c for c in (exported.seed_commitment, commitment) if c]
    digests = [d.strip().lower() for d in (exported.inputs_digest, digest) if d]
    actual_digest = inputs_digest(exported.applicants)
    lottery_mismatches = sum(
        lottery(exported.seed, a.citizen_id) != r.lottery
        for a, r in zip(exported.applicants, exported.results, strict=True)
    )
    recomputed = allocate(exported.schools, exported.applicants, exported.seed, exported.policy)
    mismatched = [
        mine.reference
        for mine, theirs in zip(placements(recomputed), exported.results, strict=True)
        if (mine.school, mine.placed_by, mine.rank, mine.reason)
        != (theirs.school, theirs.placed_by, theirs.rank, theirs.reason)
    ]
    instance = recomputed.instance
    assignment = {r.reference: r.school for r in exported.results}
    da_rank = da_ranks_from_assignment(instance, assignment)
    codes = (r.school or "" for r in exported.results)
    school = np.fromiter(map(instance.school_index.get, codes, repeat(-1)), np.int64, len(da_rank))
    return Verification(
        applicants=len(exported.results),
        mismatches=len(mismatched),
        mismatched=tuple(mismatched[:20]),
        lottery_mismatches=lottery_mismatches,
        blocking_pairs=count_blocking_pairs(instance, da_rank),
        over_capacity=tuple(over_capacity(instance, school)),
        seed_committed=all(seed_matches(exported.seed, c) for c in commitments)
        if commitments
        else None,
        inputs_committed=all(d == actual_digest for d in digests) if digests else None,
    )


def _split(text: str) -> frozenset[str]:
    return frozenset(text.split(SEPARATOR)) if text else frozenset()


def _float(text: str) -> float | None:
    return float(text) if text else None

"""The results export (one CSV a third party can verify) and the verifier that reads it.

Format, UTF-8, in this order:

    # tuyensinh allocation export 1
    # seed,<round seed in hex>
    # seed_commitment,<SHA-256 of the seed, as published at close>
    # inputs_digest,<SHA-256 of the applicants' inputs, as published before results>
    # policy,<the policy as JSON>
    # school,<code>,<capacity>,<wards joined by |>,<lat>,<lon>,<reserved>,<reserved_for>
    reference,citizen_id,ward,...                                          (EXPORT_COLUMNS)
    <one row per applicant>

Each `#` line is itself a CSV record after its `# ` prefix. Lists (catchment wards, sibling
schools, preferences) are joined by `|`; an absent value is empty. `preferences` are the
applicant's ranked codes as submitted; `rank` is the 1-based preference placed at (only for
`placed_by` = preference); `lottery` is the decimal HMAC lottery number, `shared_lottery`
the number linked siblings drew with (when the policy shares one), `pool` the seats a
placement came from (general or reserved). An export written before households, late
applications and reserved seats existed (without those columns) still reads. From this file
alone the allocation can be recomputed and compared, and its stability counted; with the
commitment and digest published earlier (see `engine.commitment`), also that the seed and the
inputs are the ones committed to before any result was seen.

The writer and the reader stay in this one module, over its length: they are the two halves
of the format above, written down once, and a column one of them changes the other must follow.
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
    blocking_pairs_by_pass,
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
from services.allocation.engine.explain import placements, shared_lottery
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
    "pool",
    "shared_lottery",
)
OLDER_COLUMNS = tuple(
    c for c in EXPORT_COLUMNS if c not in ("household", "late", "pool", "shared_lottery")
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
    pool: str | None = None
    shared_lottery: int | None = None


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
            str(s.reserved),
            s.reserved_for or "",
        )
    yield EXPORT_COLUMNS
    shared = inst.shared_lottery
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
            placed.pool or "",
            "" if shared is None else str(int(shared[a])),
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
    schools = tuple(_school(row) for row in meta[1:] if row[0] == "school")
    reader = csv.DictReader(body)
    if tuple(reader.fieldnames or ()) not in (EXPORT_COLUMNS, OLDER_COLUMNS):
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
                household=row.get("household") or None,
                late=row.get("late") == "1",
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
                pool=row.get("pool") or None,
                shared_lottery=int(row["shared_lottery"]) if row.get("shared_lottery") else None,
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
    recomputed = allocate(exported.schools, exported.applicants, exported.seed, exported.policy)
    instance = recomputed.instance
    shared = [shared_lottery(instance, a) for a in range(len(exported.results))]
    lottery_mismatches = sum(
        lottery(exported.seed, a.citizen_id) != r.lottery or mine != r.shared_lottery
        for a, r, mine in zip(exported.applicants, exported.results, shared, strict=True)
    )
    older = exported.results and all(r.pool is None for r in exported.results)
    mismatched = [
        mine.reference
        for mine, theirs in zip(placements(recomputed), exported.results, strict=True)
        if (mine.school, mine.placed_by, mine.rank, mine.reason)
        != (theirs.school, theirs.placed_by, theirs.rank, theirs.reason)
        or (mine.pool != theirs.pool and not older)
    ]
    assignment = {r.reference: r.school for r in exported.results}
    da_rank = da_ranks_from_assignment(instance, assignment)
    codes = (r.school or "" for r in exported.results)
    school = np.fromiter(map(instance.school_index.get, codes, repeat(-1)), np.int64, len(da_rank))
    return Verification(
        applicants=len(exported.results),
        mismatches=len(mismatched),
        mismatched=tuple(mismatched[:20]),
        lottery_mismatches=lottery_mismatches,
        blocking_pairs=blocking_pairs_by_pass(instance, da_rank, school),
        over_capacity=tuple(over_capacity(instance, school)),
        seed_committed=all(seed_matches(exported.seed, c) for c in commitments)
        if commitments
        else None,
        inputs_committed=all(d == actual_digest for d in digests) if digests else None,
    )


def _school(row: list[str]) -> School:
    """A `# school` record; one written before reserved seats has six cells."""
    _, code, cap, wards, lat, lon, *reserve = row
    reserved, reserved_for = reserve if reserve else ("0", "")
    return School(
        code, int(cap), _split(wards), _float(lat), _float(lon), int(reserved), reserved_for or None
    )


def _split(text: str) -> frozenset[str]:
    return frozenset(text.split(SEPARATOR)) if text else frozenset()


def _float(text: str) -> float | None:
    return float(text) if text else None

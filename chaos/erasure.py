"""Scenario 11: withdrawal and erasure. Parents withdraw and ask for erasure, the retention
rule runs, and then every table of every service's database is searched for the children's
citizen IDs, names and guardians' contacts, while the round's statistics must not move.

The population register (registration's `register_people`) is the state's record of every
resident, imported from the city, not the family's submission: it is left out of the
search, and named as left out in the figures.
"""

from __future__ import annotations

import json
import time
import zlib
from collections import Counter
from dataclasses import dataclass
from typing import Any

import requests
from sqlalchemy import create_engine, inspect, text

from chaos.invariants import rows
from chaos.scenarios import (
    ROUND,
    Outcome,
    Submitter,
    _post,
    _round,
    _still_queued,
    _until,
    settle,
    submitter,
)
from tests.support.accounts import DEPARTMENT, PARENT, bearer, credentials, make_account
from tests.support.system import RunningSystem

# Tables that hold no family's submission: the state's population register, and the log of
# the corrections the department made to it (which fields of whose record: the register's).
NOT_SEARCHED = {"registration": {"register_people", "register_corrections"}}
# The retention rule as the scenario runs it: due at once, checked every two seconds.
ERASURE_ENV = {"ERASURE_RETENTION_DAYS": "0", "ERASURE_SWEEP_SECONDS": "2"}


@dataclass
class Child:
    """One application's form, and what must be gone once it is erased."""

    reference: str
    form: dict[str, Any]

    @property
    def personal(self) -> list[str]:
        """The strings that identify the child or reach the family."""
        child, guardian = self.form["child"], self.form["guardian"]
        return [child["citizen_id"], child["full_name"], guardian["email"], guardian["phone"]]


def erasure(system: RunningSystem, _: Submitter, bodies: list[bytes]) -> Outcome:
    """Scenario 11: erase on request (withdrawn while open, declined, rejected, a whole
    account), run the retention rule, then search every database; the statistics stand.
    One parent account submits every child here, and then asks for erasure from it."""
    forms = _unique_names([json.loads(body) for body in bodies])
    forms = [form for form in forms if form["round_id"] == ROUND]
    api, parent = f"{system.url}/api/v1", system.parent_headers()
    submit = submitter(system, parent, concurrency=8)
    department = system.headers_of(DEPARTMENT)
    answers = submit([json.dumps(form).encode() for form in forms[:-1]])
    # Another family, whose whole account goes: it asks once, for all of its applications.
    other = _other_family(system, api, forms[-1])
    settle(system, set(answers.references), timeout=600)
    children = _children(system, forms[:-1], set(answers.references))
    statuses = _statuses(system)
    withdrawn = next(ref for ref in children if statuses.get(ref) == "verified")
    asked = {withdrawn: _ask(api, parent, withdrawn)}
    account = _post(f"{api}/auth/me/erasure", other.headers)
    after_account = _token_refused(api, other.headers)
    _run_round(api, department)
    # Every verified child has heard its result (registration shows allocation's outcomes).
    _until(lambda: "verified" not in _statuses(system).values(), 300)
    statuses = _statuses(system)
    offered = next(ref for ref in children if statuses.get(ref) == "offered")
    declined = _post(f"{api}/offers/{offered}/decline", parent).status_code
    _until(lambda: _statuses(system).get(offered) == "declined", 120)
    # The freed seat's chain has settled: no event about it is queued or held in a batch,
    # and the statistics read the same twice, 3 s apart.
    _until(lambda: _steady(system, api, department), 120)
    before = _stats(api, department)
    statuses = _statuses(system)
    rejected = next((ref for ref in children if statuses.get(ref) == "rejected"), None)
    held = next(ref for ref in children if statuses.get(ref) in ("offered", "waitlisted"))
    refused = _ask(api, parent, held)
    for reference in filter(None, (offered, rejected)):
        asked[reference] = _ask(api, parent, reference)
    erased = [*asked, other.reference]
    victims = [children[ref] for ref in asked] + [other.child]
    personal = [value for child in victims for value in child.personal]
    done = _until(lambda: _erased(system, erased) == len(erased), 300)
    # Registration has erased them; allocation and notification follow off the broker.
    _until(lambda: not search_everywhere(system, personal), 120)
    verdict = settle(system, set(answers.references) | {other.reference}, timeout=300)
    after = _stats(api, department)
    hits = search_everywhere(system, personal)
    # The control: a child nobody asked to erase is still all there.
    control = next(c for ref, c in children.items() if ref not in asked and ref != held)
    kept = search_everywhere(system, [control.form["child"]["citizen_id"]])
    account_row_left = _account(system, other.account)
    figures = (
        f"{len(forms)} grade-1 applications ({_answered(answers.statuses)})"
        f" and another family's account; erasure asked for {len(erased)} applications: one"
        f" withdrawn while the round was open ({asked[withdrawn]}), one declined after"
        f" publication ({asked[offered]}, decline {declined})"
        f"{f', one rejected by verification ({asked[rejected]})' if rejected else ''}, and"
        f" the other family's account with its one application (account erasure"
        f" {account.status_code}, its token afterwards {after_account}); a child holding a"
        f" place was refused ({refused}); retention rule run (ERASURE_RETENTION_DAYS=0, timer"
        f" every 2 s), every erasure done: {done}; the {len(victims)} erased children's citizen"
        f" IDs, names and guardian contacts found {sum(hits.values())} times in the four"
        f" databases"
        f"{f' ({dict(hits)})' if hits else ''} (register_people, the state's population"
        f" register, not searched); a child not erased still found in {sum(kept.values())}"
        f" places; the erased account: {account_row_left}; round statistics before and after"
        f" the erasures equal: {before == after}"
    )
    ok = (
        done
        and not hits
        and sum(kept.values()) > 0
        and before == after
        and before.get("statistics") is not None
        and set(asked.values()) == {202}
        and refused == 409
        and account.status_code == 202
        and after_account == 401
        and account_row_left == {"phone": None, "password_usable": False}
    )
    return Outcome("erasure", figures, verdict, ok=ok)


@dataclass
class _Family:
    headers: dict[str, str]
    account: str
    reference: str
    child: Child


def _other_family(system: RunningSystem, api: str, form: dict[str, Any]) -> _Family:
    account = make_account(system.databases["gateway"], PARENT)
    token = requests.post(
        f"{api}/auth/token", json=credentials(system.databases["gateway"], account), timeout=30
    ).json()["access_token"]
    headers = bearer(token)
    answer = requests.post(f"{api}/applications", json=form, headers=headers, timeout=30)
    answer.raise_for_status()
    reference = answer.json()["reference"]
    return _Family(headers, account, reference, Child(reference, form))


def _unique_names(forms: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The forms whose child's name and guardian's contacts appear once among them, so that
    a name found in a database can only be that child's."""
    counts = Counter(value for form in forms for value in _identifying(form))
    return [form for form in forms if all(counts[value] == 1 for value in _identifying(form))]


def _identifying(form: dict[str, Any]) -> tuple[str, str, str]:
    guardian = form["guardian"]
    return form["child"]["full_name"], guardian["email"], guardian["phone"]


def _children(
    system: RunningSystem, forms: list[dict[str, Any]], answered: set[str]
) -> dict[str, Child]:
    by_citizen = {form["child"]["citizen_id"]: form for form in forms}
    sql = "SELECT reference, citizen_id FROM applications"
    return {
        reference: Child(reference, by_citizen[citizen_id])
        for reference, citizen_id in rows(system.databases["registration"], sql)
        if reference in answered and citizen_id in by_citizen
    }


def _answered(statuses: dict[int, int]) -> str:
    return ", ".join(f"{status}: {n:,}" for status, n in sorted(statuses.items()))


def _ask(api: str, headers: dict[str, str], reference: str) -> int:
    """The parent asks for one application to be erased; the answer's status."""
    return _post(f"{api}/applications/{reference}/erasure", headers).status_code


def _run_round(api: str, department: dict[str, str]) -> None:
    """Close, allocate and publish the round as the department does, each step to its end.

    As the department does, allocate is asked again while the intake is settling (409), and
    again after a publish refused because a change reached allocation after its preview (the
    preview is stale: a withdrawal or an erasure on its way when the allocate job ran)."""
    rounds = f"{api}/rounds/{ROUND}"
    _until(lambda: _post(f"{rounds}/close", department).status_code in (200, 202), 300)
    _until(lambda: _round_is(rounds, department, "closed"), 600)

    def published() -> bool:
        state = _round(rounds, department)
        if state.get("job") is not None or state.get("status") == "published":
            return state.get("status") == "published" and state.get("job") is None
        if state.get("status") == "allocated":
            if _post(f"{rounds}/publish", department).status_code in (200, 202):
                return False
        _post(f"{rounds}/allocate", department)  # closed, or a stale preview: allocate again
        return False

    _until(published, 900)


def _round_is(rounds: str, department: dict[str, str], status: str) -> bool:
    state = _round(rounds, department)
    return state.get("status") == status and state.get("job") is None


def _token_refused(api: str, headers: dict[str, str], bound: float = 3.0) -> int:
    """The erased account's token as the gateway answers it once the revocation has reached
    every worker: at once on the worker that took the erasure, within about a second on the
    others (their denylist copies: README, "Accounts and access", Rate limits); `bound`: 3 s."""
    deadline = time.monotonic() + bound
    while True:
        status = requests.get(f"{api}/auth/me", headers=headers, timeout=30).status_code
        if status == 401 or time.monotonic() > deadline:
            return status
        time.sleep(0.1)


def _steady(system: RunningSystem, api: str, department: dict[str, str]) -> bool:
    first = _stats(api, department)
    time.sleep(3)
    return not _still_queued(system) and bool(first) and first == _stats(api, department)


def _statuses(system: RunningSystem) -> dict[str, str]:
    return dict(
        rows(system.databases["registration"], "SELECT reference, status FROM applications")
    )


def _stats(api: str, department: dict[str, str]) -> dict[str, Any]:
    answer = requests.get(f"{api}/rounds/{ROUND}/stats", headers=department, timeout=60)
    return dict(answer.json()) if answer.status_code == 200 else {}


def _erased(system: RunningSystem, references: list[str]) -> int:
    erased = rows(
        system.databases["registration"],
        "SELECT reference FROM applications WHERE erased_at IS NOT NULL",
    )
    return len({reference for (reference,) in erased} & set(references))


def _account(system: RunningSystem, account_id: str) -> dict[str, Any]:
    sql = "SELECT phone, password_hash FROM accounts WHERE id = :id"
    engine = create_engine(system.databases["gateway"])
    try:
        with engine.connect() as connection:
            phone, password_hash = connection.execute(text(sql), {"id": account_id}).one()
    finally:
        engine.dispose()
    return {"phone": phone, "password_usable": password_hash.startswith("$")}


def search_everywhere(system: RunningSystem, values: list[str]) -> Counter[str]:
    """Where any of `values` occurs: hits per `<service>.<table>`, over every row of every
    table of the four databases (the results export decompressed), the register aside."""
    hits: Counter[str] = Counter()
    for service, uri in system.databases.items():
        engine = create_engine(uri)
        try:
            with engine.connect() as connection:
                for table in inspect(connection).get_table_names():
                    if table in NOT_SEARCHED.get(service, set()):
                        continue
                    for text_ in _rows_as_text(connection, table):
                        hits[f"{service}.{table}"] += sum(value in text_ for value in values)
        finally:
            engine.dispose()
    return +hits


def _rows_as_text(connection: Any, table: str) -> list[str]:
    if table == "export_chunks":
        chunks = connection.execute(text("SELECT data FROM export_chunks")).scalars()
        return [zlib.decompress(chunk).decode() for chunk in chunks]
    return list(connection.execute(text(f'SELECT CAST(t AS text) FROM "{table}" AS t')).scalars())

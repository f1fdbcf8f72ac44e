"""Group commit (gateway.groupcommit): callers arriving together share one write, each gets
its own result, and a failed write fails exactly the callers that were in it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from gateway.groupcommit import GroupCommit, SharedTransaction


class SlowStore:
    """A write that takes a moment, so that other callers queue up behind the first."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.release = threading.Event()

    def write(self, items: list[int]) -> list[int]:
        if not self.batches:
            self.release.wait(5)  # hold the first batch until everyone else is waiting
        self.batches.append(items)
        return [item * 10 for item in items]


def test_a_lone_caller_is_written_at_once() -> None:
    store = SlowStore()
    store.release.set()
    assert GroupCommit(store.write)(7) == 70
    assert store.batches == [[7]]


def test_callers_waiting_together_share_the_next_batch_and_get_their_own_results() -> None:
    store = SlowStore()
    group = GroupCommit(store.write)
    results: dict[int, int] = {}

    def call(item: int) -> None:
        results[item] = group(item)

    first = threading.Thread(target=call, args=(0,))
    first.start()
    while not group._leading:
        pass
    others = [threading.Thread(target=call, args=(n,)) for n in range(1, 20)]
    for thread in others:
        thread.start()
    while len(group._pending) < 19:
        threading.Event().wait(0.01)
    store.release.set()
    for thread in [first, *others]:
        thread.join(5)
    assert results == {n: n * 10 for n in range(20)}
    assert store.batches[0] == [0]
    assert sorted(store.batches[1]) == list(range(1, 20))  # one write for the 19 who waited


def test_a_failed_write_fails_its_callers_and_the_next_caller_still_gets_written() -> None:
    calls: list[list[str]] = []

    def write(items: list[str]) -> list[str]:
        calls.append(items)
        if "bad" in items:
            raise RuntimeError("database away")
        return items

    group = GroupCommit(write)
    with pytest.raises(RuntimeError, match="database away"):
        group("bad")
    assert group("good") == "good"
    assert calls == [["bad"], ["good"]]


def test_batches_are_capped_at_max_batch() -> None:
    store = SlowStore()
    group = GroupCommit(store.write, max_batch=5)
    threads = [threading.Thread(target=group, args=(n,)) for n in range(12)]
    threads[0].start()
    while not group._leading:
        pass
    for thread in threads[1:]:
        thread.start()
    while len(group._pending) < 11:
        threading.Event().wait(0.01)
    store.release.set()
    for thread in threads:
        thread.join(5)
    assert [len(batch) for batch in store.batches] == [1, 5, 5, 1]


class Transactions:
    """Stands in for `engine.begin()`: counts transactions and whether each one committed."""

    def __init__(self) -> None:
        self.outcomes: list[str] = []

    @contextmanager
    def begin(self) -> Iterator[str]:
        try:
            yield f"connection {len(self.outcomes)}"
        except Exception:
            self.outcomes.append("rolled back")
            raise
        self.outcomes.append("committed")


def test_writes_of_different_kinds_waiting_together_share_one_transaction() -> None:
    transactions = Transactions()
    shared = SharedTransaction(transactions.begin, leaders=1)
    seen: dict[str, list[tuple[str, list[int]]]] = {"claim": [], "audit": []}
    release = threading.Event()

    def writer(kind: str) -> Any:
        def write(connection: str, items: list[int]) -> list[str]:
            if not transactions.outcomes and not seen["claim"] and not seen["audit"]:
                release.wait(5)  # hold the first transaction while the others queue up
            seen[kind].append((connection, items))
            return [f"{kind} {item}" for item in items]

        return write

    shared.register("claim", writer("claim"))
    shared.register("audit", writer("audit"))
    results: dict[tuple[str, int], str] = {}

    def call(kind: str, item: int) -> None:
        results[(kind, item)] = shared(kind, item)

    first = threading.Thread(target=call, args=("claim", 0))
    first.start()
    while not shared._group._leading:
        pass
    others = [
        threading.Thread(target=call, args=(("claim", "audit")[n % 2], n)) for n in range(1, 9)
    ]
    for thread in others:
        thread.start()
    while len(shared._group._pending) < 8:
        threading.Event().wait(0.01)
    release.set()
    for thread in [first, *others]:
        thread.join(5)

    assert results == {(kind, n): f"{kind} {n}" for kind, n in results} and len(results) == 9
    assert transactions.outcomes == ["committed", "committed"]  # 9 writes, 2 transactions
    assert seen["claim"][1][0] == seen["audit"][0][0] == "connection 1"
    assert sorted(seen["claim"][1][1]) == [2, 4, 6, 8]
    assert sorted(seen["audit"][0][1]) == [1, 3, 5, 7]


def test_a_failing_writer_rolls_back_the_shared_transaction_for_every_kind() -> None:
    transactions = Transactions()
    shared = SharedTransaction(transactions.begin)

    def refuse(connection: str, items: list[int]) -> list[int]:
        raise RuntimeError("database away")

    shared.register("claim", lambda connection, items: items)
    shared.register("audit", refuse)
    with pytest.raises(RuntimeError, match="database away"):
        shared("audit", 1)
    assert shared("claim", 2) == 2
    assert transactions.outcomes == ["rolled back", "committed"]


def test_with_two_leaders_a_second_batch_is_written_while_the_first_is_still_open() -> None:
    first_open, second_done = threading.Event(), threading.Event()
    batches: list[list[int]] = []

    def write(items: list[int]) -> list[int]:
        batches.append(items)
        if items == [0]:
            first_open.set()
            assert second_done.wait(5), "the second batch waited for the first"
        return items

    group = GroupCommit(write, leaders=2)
    first = threading.Thread(target=group, args=(0,))
    first.start()
    assert first_open.wait(5)
    assert group(1) == 1  # written while batch [0] is still in its transaction
    second_done.set()
    first.join(5)
    assert batches == [[0], [1]] and group._leading == 0

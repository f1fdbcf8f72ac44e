"""Group commit (gateway.groupcommit): callers arriving together share one write, each gets
its own result, and a failed write fails exactly the callers that were in it."""

from __future__ import annotations

import threading

import pytest

from gateway.groupcommit import GroupCommit


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

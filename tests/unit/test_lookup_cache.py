"""The gateway's lookup cache (gateway.backends.LookupCache): one load per key at a time, and
past its TTL the last answer keeps being served while one caller refreshes it."""

from __future__ import annotations

import threading
import time

import pytest

from gateway.backends import LookupCache


class Source:
    """A service answer that changes with every call; `hold` makes a call wait."""

    def __init__(self) -> None:
        self.calls = 0
        self.hold = threading.Event()
        self.hold.set()
        self.fail = False

    def load(self) -> int:
        self.calls += 1
        self.hold.wait(5)
        if self.fail:
            raise RuntimeError("allocation is away")
        return self.calls


def test_an_answer_within_its_ttl_is_served_without_a_call() -> None:
    cache, source = LookupCache(ttl=60), Source()
    assert [cache.get("open", source.load) for _ in range(3)] == [1, 1, 1]
    assert source.calls == 1


def test_past_the_ttl_one_caller_refreshes_while_the_others_get_the_last_answer() -> None:
    cache, source = LookupCache(ttl=0.05, stale=60), Source()
    cache.get("open", source.load)
    time.sleep(0.06)
    source.hold.clear()  # the refresh is slow, as an RPC to a busy service is
    refreshed: list[int] = []
    refresher = threading.Thread(target=lambda: refreshed.append(cache.get("open", source.load)))
    refresher.start()
    while source.calls < 2:
        time.sleep(0.001)

    others = [cache.get("open", source.load) for _ in range(5)]  # not waiting for it

    source.hold.set()
    refresher.join(5)
    assert others == [1] * 5 and refreshed == [2]
    assert cache.get("open", source.load) == 2 and source.calls == 2


def test_a_failed_refresh_serves_the_last_answer_and_the_next_caller_tries_again() -> None:
    cache, source = LookupCache(ttl=0.05, stale=60), Source()
    cache.get("open", source.load)
    time.sleep(0.06)
    source.fail = True
    assert cache.get("open", source.load) == 1
    source.fail = False
    assert cache.get("open", source.load) == 3  # tried again: the failed call was the 2nd


def test_an_answer_older_than_stale_is_not_served_and_errors_reach_the_caller() -> None:
    cache, source = LookupCache(ttl=0.02, stale=0.05), Source()
    cache.get("open", source.load)
    time.sleep(0.06)
    source.fail = True
    with pytest.raises(RuntimeError, match="allocation is away"):
        cache.get("open", source.load)
    source.fail = False
    assert cache.get("open", source.load) == 3

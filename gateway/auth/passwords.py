"""Password hashing with argon2id, run on a real OS thread so the green hub keeps serving.

argon2 is deliberately slow and memory-hard (tens of milliseconds); computed on the gevent
loop it would stall every other request of the worker for that long.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

T = TypeVar("T")

MIN_LENGTH = 8
MAX_LENGTH = 128


def offload(function: Callable[..., T], *args: Any) -> T:
    """Run CPU-bound `function(*args)` on the green hub's thread pool (gevent or eventlet);
    without monkey-patching, just call it."""
    if "gevent" in sys.modules:
        from gevent import get_hub, monkey

        if monkey.is_module_patched("socket"):
            return get_hub().threadpool.apply(function, args)
    if "eventlet" in sys.modules:
        from eventlet import patcher, tpool

        if patcher.is_monkey_patched("socket"):
            return tpool.execute(function, *args)
    return function(*args)


class Passwords:
    """argon2id with OWASP's parameters (19 MiB, 2 passes) unless configured otherwise."""

    def __init__(self, time_cost: int = 2, memory_kib: int = 19456, parallelism: int = 1) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism
        )
        # Unknown accounts are checked against this, so a login takes as long either way.
        self._dummy = self._hasher.hash("not-a-password-anyone-has")

    def hash(self, password: str) -> str:
        """The encoded argon2id hash of a password."""
        return offload(self._hasher.hash, password)

    def verify(self, encoded: str | None, password: str) -> bool:
        """Whether `password` matches `encoded`; with no hash, spend the same time and say no."""
        try:
            return bool(offload(self._hasher.verify, encoded or self._dummy, password)) and bool(
                encoded
            )
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, encoded: str) -> bool:
        """Whether the hash was made with weaker parameters than the current ones."""
        return self._hasher.check_needs_rehash(encoded)


def password_problem(password: str) -> str | None:
    """Why a new password is not acceptable, or None."""
    if len(password) < MIN_LENGTH:
        return f"at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"at most {MAX_LENGTH} characters"
    if password.isdigit() and len(set(password)) <= 2:
        return "too easy to guess"
    return None

"""Telling a database that is away from a statement that failed."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

# SQLSTATEs of a server that is not taking work right now: class 08 (connection exception),
# admin_shutdown, crash_shutdown, cannot_connect_now ("the database system is starting up"),
# too_many_connections (every slot of the server taken, for now).
UNAVAILABLE_STATES = frozenset({"57P01", "57P02", "57P03", "53300"})


def database_unavailable(exc: BaseException) -> bool:
    """Whether `exc` (or an error it was raised from) says the database could not be reached,
    rather than that a statement was wrong: the same work will succeed once it is back."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, PoolTimeout):
            # Every connection of the process's pool stayed in use past the pool's timeout: a
            # database (or a process) that is busy for now, not work that is wrong. Seen under
            # load: an opening morning's backlog must wait for it, not go to the dead letters.
            return True
        if isinstance(current, DBAPIError):
            if current.connection_invalidated:
                return True
            if isinstance(current, OperationalError | InterfaceError):
                # A refused or dropped connection has no SQLSTATE; a deadlock or a cancelled
                # statement (also OperationalError in psycopg2) has one of its own.
                state = getattr(current.orig, "pgcode", None)
                if state is None or state.startswith("08") or state in UNAVAILABLE_STATES:
                    return True
        current = current.__cause__ or current.__context__
    return False

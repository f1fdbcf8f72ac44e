"""Logging filters for the services' `LOGGING` config (nameko's dictConfig).

`ExpectedErrorsOnOneLine`: nameko logs an RPC that raised one of its `expected_exceptions`
(an unknown application answered 404, a round not in the right state answered 409) as a
warning *with* the traceback. Those are answers, not faults: the filter keeps the one line
and drops the traceback. Unexpected errors keep theirs.
"""

from __future__ import annotations

import logging


class ExpectedErrorsOnOneLine(logging.Filter):
    """Drop the traceback of nameko's "(expected) error handling worker" records."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep every record; strip the traceback from expected errors."""
        if record.exc_info and str(record.msg).startswith("(expected)"):
            record.exc_info, record.exc_text = None, None
        return True

"""Expected RPC errors log one line; unexpected ones keep their traceback."""

from __future__ import annotations

import io
import logging

from shared.logfilters import ExpectedErrorsOnOneLine


def _logged(message: str, expected: bool) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ExpectedErrorsOnOneLine())
    log = logging.getLogger(f"test.logfilters.{expected}")
    log.addHandler(handler)
    log.propagate = False
    try:
        raise LookupError("TSABCDEFGHIJKLMNOP")
    except LookupError as exc:
        if expected:
            log.warning(message, "worker", exc, exc_info=True)
        else:
            log.exception(message, "worker", exc)
    log.removeHandler(handler)
    return stream.getvalue()


def test_an_expected_error_is_one_line_without_its_traceback() -> None:
    logged = _logged("(expected) error handling worker %s: %s", expected=True)

    assert logged == "(expected) error handling worker worker: TSABCDEFGHIJKLMNOP\n"


def test_an_unexpected_error_keeps_its_traceback() -> None:
    logged = _logged("error handling worker %s: %s", expected=False)

    assert "Traceback (most recent call last)" in logged

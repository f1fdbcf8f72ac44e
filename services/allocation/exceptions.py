"""Errors the allocation service raises, and lists in `expected_exceptions`."""


class RoundNotFound(Exception):
    """No round has that id."""


class InvalidTransition(Exception):
    """The round's lifecycle does not allow that step from its current status."""


class WardNotFound(Exception):
    """No ward has that code."""

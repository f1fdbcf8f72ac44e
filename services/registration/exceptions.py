"""Errors the registration service raises, and lists in `expected_exceptions`."""


class ApplicationNotFound(Exception):
    """No application has that reference."""


class RoundNotKnownYet(Exception):
    """A submission names a round whose `round_opened` event has not arrived yet; retried."""


class SchoolDirectoryNotKnownYet(Exception):
    """No `school_directory_updated` has arrived yet, so preferences cannot be checked; retried."""


class RoundClosed(Exception):
    """The round no longer accepts submissions, amendments or withdrawals."""

"""Errors the registration service raises, and lists in `expected_exceptions`."""

import json


class ApplicationNotFound(Exception):
    """No application has that reference."""


class RoundNotKnownYet(Exception):
    """A submission names a round whose `round_opened` event has not arrived yet; retried."""


class SchoolDirectoryNotKnownYet(Exception):
    """No `school_directory_updated` has arrived yet, so preferences cannot be checked; retried."""


class RoundClosed(Exception):
    """The round no longer accepts submissions, amendments or withdrawals."""


class CorrectionNotFound(Exception):
    """No correction request has that id."""


class CorrectionNotAllowed(Exception):
    """A correction request may not be made now; the message is the reason's code."""


class CorrectionAlreadyDecided(Exception):
    """The correction request was approved or refused already."""


class InvalidCorrection(Exception):
    """A correction (its evidence, or an approval's register values) is not acceptable; the
    message is `{field: [messages]}` as JSON (the gateway answers 400 with those fields)."""

    def __init__(self, fields: dict[str, list[str]]) -> None:
        super().__init__(json.dumps(fields))
        self.fields = fields

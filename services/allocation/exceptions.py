"""Errors the allocation service raises, and lists in `expected_exceptions`.

Their messages are built from round ids, counts and school codes only, never from a
child's data, so the gateway may show them to the department as they are.
"""


class RoundNotFound(Exception):
    """No round has that id."""


class InvalidTransition(Exception):
    """The round's lifecycle does not allow that step from its current status."""


class InvalidRound(Exception):
    """The options of a new round are not acceptable, or it cannot follow its previous round."""


class RoundExists(Exception):
    """A round with that level, year and number exists already."""


class IntakeNotComplete(Exception):
    """Allocation refused: registration or allocation's own queue has not finished the intake."""


class RoundBusy(Exception):
    """A job (allocate or publish) is queued or running for the round, or the preview is stale."""


class RoundNotSettled(Exception):
    """The round cannot be finalized while offers still await an answer."""


class WardNotFound(Exception):
    """No ward has that code."""


class SchoolNotFound(Exception):
    """No school has that code, or it has no published round."""


class OfferNotFound(Exception):
    """No published result for that application (or not at that school)."""


class SeatConflict(Exception):
    """The application's seat is not in a state for that step (e.g. accepting a declined offer)."""


class ApplicationNotFound(Exception):
    """No verified application has that reference (yet)."""

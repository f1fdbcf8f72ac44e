"""Errors the notification service raises; the RPC ones are listed in `expected_exceptions`."""


class DeliveryFailed(Exception):
    """A channel failed transiently; the event is retried (other channels are not resent)."""


class OtpRateLimited(Exception):
    """Too many login codes for this phone lately; `retry_after` seconds until the next."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many login codes for this phone; retry after {retry_after} s")
        self.retry_after = retry_after


class OtpNotSent(Exception):
    """The login code could not be sent (invalid phone or code, or the provider failed)."""

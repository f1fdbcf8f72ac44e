"""Errors the notification service raises."""


class DeliveryFailed(Exception):
    """A channel refused or failed a send; the message is retried, then dead-lettered."""

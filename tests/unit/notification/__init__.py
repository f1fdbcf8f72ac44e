"""Unit tests of the notification service: rules, templates and SMS arithmetic, no I/O."""

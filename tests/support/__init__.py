"""Helpers the tests share: databases, processes, the broker's management API."""

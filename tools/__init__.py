"""Command-line helpers for running the system on one machine."""

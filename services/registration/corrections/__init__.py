"""Correction requests: the rules, their table, the stored requests and their entrypoints."""

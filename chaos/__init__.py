"""Fault and attack scenarios against the real system (`make chaos`)."""

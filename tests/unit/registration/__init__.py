"""Unit tests of the registration service's pure rules."""

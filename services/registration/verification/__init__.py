"""Verification: the rules an application must meet, and applying them to stored applications."""

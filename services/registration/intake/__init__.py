"""Taking submissions in: store or amend each, audit it, keep the live window's counts."""

"""The registration service: applications and their verification."""

"""Shared lists: invitations, members and their roles, and who may do what with a list and
its tasks (`access.py`)."""

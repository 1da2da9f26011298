"""Notifications: what the service sends by itself, outside any request: webhooks (each a
follower of its owner's change log) and reminders (fired when due, by email too), run by the
background jobs of every process (`jobs.py`)."""

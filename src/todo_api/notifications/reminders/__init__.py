"""Reminders going off: the worker that fires them (the tasks domain marks them fired and logs
it) and the emails it queues, sent from their outbox."""

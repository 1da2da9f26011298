"""Webhooks: a user's receivers, sent each change of their feed, signed as the Standard
Webhooks specification says (routes, the webhook table, the dispatcher that follows the log,
and the delivery workers)."""

"""App passwords: secrets a user makes for clients that speak HTTP Basic (CalDAV apps, scripts)
or subscribe to a URL (calendar feeds), each limited to its scopes and revocable at once.

Other domains reach these through `todo_api.accounts` (`authenticate_basic`).
"""

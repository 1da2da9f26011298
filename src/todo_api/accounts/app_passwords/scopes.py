"""What an app password may do: the scope sets a user can give one."""

from enum import StrEnum


class Scope(StrEnum):
    """One thing an app password lets a client do."""

    caldav = "caldav"  # sync tasks over CalDAV
    read = "read"  # read the REST API (GET, HEAD)
    write = "write"  # change things through the REST API (with `read`)
    feed = "feed"  # subscribe to the calendar feed of due dates (the password is its token)


# The sets a password may have: one client, one purpose.
ALLOWED: tuple[frozenset[Scope], ...] = (
    frozenset({Scope.caldav}),
    frozenset({Scope.read}),
    frozenset({Scope.read, Scope.write}),
    frozenset({Scope.feed}),
)


def stored(scopes: frozenset[Scope]) -> str:
    """The scopes as the `scopes` column holds them: sorted, space-separated."""
    return " ".join(sorted(scopes))


def parse(column: str) -> frozenset[str]:
    """The scopes of a stored password."""
    return frozenset(column.split())

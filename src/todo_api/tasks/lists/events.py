"""What can happen to a list: the names of its changes' types (and of its webhook events)."""

from enum import StrEnum

# The kind of record a list is, in the change log: its changes show `list_id` and `list`.
KIND = "list"


class ListEvent(StrEnum):
    """What happened to a list: the `type` of its changes (and of its webhook events)."""

    created = "list.created"
    updated = "list.updated"
    deleted = "list.deleted"
    # Someone became a member (their feed only, with the list and their role), or stopped
    # being one (theirs only; nothing of the list follows in it).
    joined = "list.joined"
    left = "list.left"

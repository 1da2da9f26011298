"""Sharing's failures, each answered with its status by the one error handler."""

from todo_api.core.errors import ApiError, Conflict, NotFound


class NotAllowed(ApiError):
    """The caller is in the list, but their role does not let them do this."""

    status_code = 403


class InvitationNotFound(NotFound):
    """Unknown, expired, used up or revoked: one answer for all four, so that a token tells
    nobody anything."""

    default_detail = "Invitation not found, expired or used up"


class MemberNotFound(NotFound):
    """Nobody with that id is in the list."""

    default_detail = "Member not found"


class MemberLimitReached(Conflict):
    """The list already has as many members as one list may."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"Member limit reached: a list may have at most {limit} members")


class InvitationLimitReached(Conflict):
    """The list already has as many open invitations as one list may."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"Invitation limit reached: a list may have at most {limit} open invitations"
        )


class OwnerStays(Conflict):
    """The owner cannot leave (or be given a role): deleting the list is how they go."""

    default_detail = "The owner cannot leave the list or change role: delete the list instead"

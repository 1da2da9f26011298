"""App passwords' failures, each answered with its status by the one error handler."""

from todo_api.core.errors import BASIC_CHALLENGE, Conflict, Forbidden, NotFound, Unauthorized


class AppPasswordNotFound(NotFound):
    """No app password with that id belongs to the caller."""

    default_detail = "App password not found"


class AppPasswordLimitReached(Conflict):
    """The user already holds as many app passwords as one user may."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"App password limit reached: one user may hold at most {limit}")
        self.limit = limit


class BasicAuthFailed(Unauthorized):
    """Missing, malformed, wrong or revoked HTTP Basic credentials, or a password without the
    scope asked for: the client is asked for Basic again. The detail never quotes what was
    sent."""

    default_detail = "Invalid username or app password"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, BASIC_CHALLENGE)


class ReadOnlyPassword(Forbidden):
    """A read-only app password asked to change something."""

    default_detail = "This app password is read-only: it cannot change anything"


class FeedNotFound(NotFound):
    """A calendar feed whose token is unknown, revoked, another user's or not a feed token:
    one answer for all, and no Basic challenge (a calendar app cannot answer one)."""

    default_detail = "Calendar feed not found"

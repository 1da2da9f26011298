"""The accounts' failures: wrong credentials, a taken email, a weak password, too many tries."""

from todo_api.core.errors import Conflict, TooManyRequests, Unauthorized, Unprocessable


class InvalidCredentials(Unauthorized):
    """No account with this email and password."""

    default_detail = "Incorrect email or password"


class EmailTaken(Conflict):
    """Another user already has this email."""

    default_detail = "An account with this email already exists"


class WeakPassword(Unprocessable):
    """The password is too short or too common; `reason` says which.

    Answered in the shape of pydantic's own errors, so that every 422 has the one declared shape.
    """

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason
        # No `input`: a 422 never echoes a password.
        self.detail = [{"type": "value_error", "loc": ["body", "password"], "msg": reason}]

    def __str__(self) -> str:
        return self.reason


class TooManyAttempts(TooManyRequests):
    """Too many failed sign-ins for this account from this address, or from this address."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("Too many failed attempts; try again later", retry_after)


class TooManySignUps(TooManyRequests):
    """This address has made as many accounts as it may for now."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("Too many sign-ups from this address; try again later", retry_after)

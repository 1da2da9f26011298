"""The accounts' failures: wrong credentials, a taken email, a weak password, too many tries."""

from todo_api.core.errors import (
    Conflict,
    NotFound,
    TooManyRequests,
    Unauthorized,
    Unprocessable,
)


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


class VerificationLinkInvalid(NotFound):
    """A verification link that is unknown, used already or expired (one answer for all)."""

    default_detail = "This verification link is unknown, used or expired: ask for a new one"


class TooManyLinks(TooManyRequests):
    """This account has been sent as many verification links as it may for now."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("Too many verification links sent; try again later", retry_after)


class MailNotConfigured(NotFound):
    """The server sends no mail (SMTP_URL and SMTP_FROM are not both set): for it, the
    endpoint that mails links is not there."""

    default_detail = "This server sends no mail: there is no link to send"


class NothingToVerify(Conflict):
    """The account has no address waiting to be verified."""

    default_detail = "This account has no email address waiting to be verified"

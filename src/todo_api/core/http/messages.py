"""Plain answers: a status message, and the body of every error response."""

from pydantic import BaseModel


class Message(BaseModel):
    """A plain status message."""

    message: str


class ErrorDetail(BaseModel):
    """The body of every error response."""

    detail: str

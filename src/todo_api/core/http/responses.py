"""The error responses the routes document in the OpenAPI schema (bodies are `ErrorDetail`)."""

from todo_api.core.http.messages import ErrorDetail

Responses = dict[int | str, dict[str, object]]


def error(description: str, example: str) -> dict[str, object]:
    """An error response with its description and an example body."""
    return {
        "model": ErrorDetail,
        "description": description,
        "content": {"application/json": {"example": {"detail": example}}},
    }


TOO_MANY_REQUESTS = error(
    "Rate limit exceeded (per client address, and per user on /api); see `Retry-After`",
    "Too many requests for this user; retry in 12 s",
)
# The server answers this one itself, before the app sees the request (core/server.py).
HEAD_TOO_LARGE = error(
    "The request's head (its line and headers) is over MAX_HEADER_BYTES or MAX_HEADERS",
    "Request headers too large",
)
# What any route under /api may answer, whatever it does.
API_ERRORS: Responses = {
    # FastAPI answers 400 itself when it cannot even read a body (bytes that are not UTF-8).
    400: error("The body cannot be read as text", "There was an error parsing the body"),
    413: error("The request body is over MAX_BODY_BYTES", "Request body too large"),
    431: HEAD_TOO_LARGE,
    429: TOO_MANY_REQUESTS,
    503: error(
        "The database is unavailable; see `Retry-After`",
        "The database is unavailable; try again shortly",
    )
    | {
        "headers": {
            "Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}
        }
    },
}
# Routes on a user's own /api/{user_id}/….
OWNER_ERRORS: Responses = API_ERRORS | {
    401: {"model": ErrorDetail, "description": "Missing, invalid or expired token"},
    403: {"model": ErrorDetail, "description": "The path names another user"},
}

"""What a CalDAV request can be refused with: each error carries its status (and headers) to
the one handler, which answers in the API's JSON form."""

from todo_api.core.errors import BASIC_CHALLENGE, ApiError, NotFound

# What a calendar resource answers to (its `Allow`).
ALLOW = "OPTIONS, GET, HEAD, PUT, DELETE, PROPFIND, PROPPATCH, REPORT"


class DavUnauthorized(ApiError):
    """No valid credentials: CalDAV clients are asked for Basic ones."""

    status_code = 401
    default_detail = "Not authenticated: use your user id or email and an app password"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, {"WWW-Authenticate": BASIC_CHALLENGE})


class BadCalendarData(ApiError):
    """A body that is not a todo this calendar can hold."""

    status_code = 400
    default_detail = "The body is not a valid iCalendar VTODO"


class ReadOnlyCalendar(ApiError):
    """A viewer's write to a shared list."""

    status_code = 403
    default_detail = "A viewer of this list cannot change it or its tasks"


class UidConflict(ApiError):
    """A new object whose UID another object of the calendar has (RFC 4791's
    `no-uid-conflict`)."""

    status_code = 409
    default_detail = "Another to-do of this calendar has this UID"


class ObjectNotFound(ApiError):
    """No object of that name in the calendar."""

    status_code = 404
    default_detail = "Not found"


class MethodNotAllowed(ApiError):
    """A WebDAV method this service does not serve on that resource."""

    status_code = 405
    default_detail = "Method not allowed here"

    def __init__(self) -> None:
        super().__init__(None, {"Allow": ALLOW})


class CalendarNotFound(NotFound):
    """No calendar of that name is the caller's (it may be somebody else's)."""

    default_detail = "Calendar not found"


class InvalidSyncToken(ApiError):
    """A sync token this service did not issue, or one its change log no longer reaches."""

    status_code = 403
    default_detail = "The sync token is not valid (any more): sync again without one"


class UnsupportedReport(ApiError):
    """A report this service does not serve."""

    status_code = 403
    default_detail = "This report is not supported here"


class BadXml(ApiError):
    """A request body that is not XML this service reads."""

    status_code = 400
    default_detail = "The request body is not well-formed XML"

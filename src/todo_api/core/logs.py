"""Logging: the one place that decides how the service and uvicorn log.

`log_config()` is handed to uvicorn (`todo-api serve` does it), which applies it in every worker.
Requests are logged once each by `RequestContextMiddleware` on the `todo_api.access` logger;
uvicorn's own access log is switched off so that lines are not doubled.
"""

import atexit
import json
import logging
import re
import sys
import threading
import time
import traceback
from collections import deque
from datetime import UTC, datetime
from typing import Any, TextIO

from todo_api.core.config import Settings

ACCESS_LOGGER = "todo_api.access"
# Fields the access log attaches to its records (as `extra`), written out by both formats.
ACCESS_FIELDS = ("request_id", "method", "path", "status", "duration_ms", "client")

_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Every request logs a line: skip what no format here uses (the logging HOWTO's "Optimization":
# the caller's frame, thread, process and task names), a third of a record's cost.
logging._srcfile = None
logging.logThreads = False
logging.logProcesses = False
logging.logMultiprocessing = False
if sys.version_info >= (3, 12):  # the attribute is new in 3.12
    logging.logAsyncioTasks = False

_access_logger = logging.getLogger(ACCESS_LOGGER)
# What every access record has in common. LogRecord() works it out again for each record
# (file and module names from the path, the level name...): most of a log call's cost.
_ACCESS_RECORD = vars(
    logging.LogRecord(
        ACCESS_LOGGER, logging.INFO, "(unknown file)", 0, "", (), None, "(unknown function)"
    )
)


def log_access(
    method: str, path: str, status: int, duration_ms: float, request_id: str, client: str | None
) -> None:
    """Log one request on `todo_api.access` (if INFO is on there), the fields as record attributes.

    The record is what `logger.info(message, extra=fields)` would make, and it goes through the
    logger's filters and handlers as that would; it is only made from a template.
    """
    if not _access_logger.isEnabledFor(logging.INFO):
        return
    duration_ms = round(duration_ms, 2)
    now = time.time()
    template = _ACCESS_RECORD
    record = logging.LogRecord.__new__(logging.LogRecord)
    vars(record).update(
        template,
        msg=f"{method} {path} {status} {duration_ms:.2f}ms id={request_id}",
        created=now,
        msecs=int((now - int(now)) * 1000) + 0.0,
        relativeCreated=template["relativeCreated"] + (now - template["created"]) * 1000,
        request_id=request_id,
        method=method,
        path=path,
        status=status,
        duration_ms=duration_ms,
        client=client,
    )
    _access_logger.handle(record)


# C0 controls, DEL, C1 controls, and the line and paragraph separators. A client can put them
# in a path (`%0a`, `%1b`), a claim or a header that ends up in a message: unescaped, `\n`
# forges a log line, `\x1b[` drives the terminal of whoever reads the log, and U+2028/U+2029
# break lines in viewers (and JavaScript) that read the log as Unicode text.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_one(match: re.Match[str]) -> str:
    char = match.group()
    return _NAMED.get(char) or (
        f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"
    )


def escape_controls(text: str) -> str:
    """`text` with every control character written as an escape (`\\n`, `\\x1b`): one line."""
    return _CONTROL.sub(_escape_one, text) if _CONTROL.search(text) else text


def escaped_traceback(exc_info: Any) -> str:
    """The traceback as logging writes it, its lines kept, but a line of its own only where the
    traceback makes one: a newline inside an exception's message is escaped like the rest."""
    exc_type, exc_value, exc_traceback = exc_info
    chunks = []
    for chunk in traceback.TracebackException(exc_type, exc_value, exc_traceback).format():
        if chunk.startswith("  File "):  # a frame: the location, then source lines from files
            chunks.append("\n".join(escape_controls(line) for line in chunk.split("\n")))
            continue
        body = chunk.strip("\n")
        start = chunk.index(body) if body else len(chunk)
        chunks.append(chunk[:start] + escape_controls(body) + chunk[start + len(body) :])
    return "".join(chunks).removesuffix("\n")


class TextFormatter(logging.Formatter):
    """logging's own text formatter, with every control character escaped (one record, one
    line, plus its traceback's), and the time string made once a second, not every line."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        """The formatted line, control characters escaped."""
        return escape_controls(super().formatMessage(record))

    def formatException(self, ei: Any) -> str:
        """The traceback, with no line an exception's message could forge."""
        return escaped_traceback(ei)

    _cached: tuple[int, str] = (-1, "")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        """The record's local time as logging.Formatter writes it (`2026-01-31 12:00:00,123`)."""
        if datefmt or self.datefmt:
            return super().formatTime(record, datefmt)
        second = int(record.created)
        cached_second, stamp = self._cached
        if second != cached_second:
            stamp = time.strftime(self.default_time_format, self.converter(second))
            self._cached = (second, stamp)
        return f"{stamp},{int(record.msecs):03d}"  # logging's default_msec_format


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and the access fields if any."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": escape_controls(record.getMessage()),
        }
        for name in ACCESS_FIELDS:
            if name in record.__dict__:
                value = record.__dict__[name]
                entry[name] = escape_controls(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["exception"] = escaped_traceback(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class BackgroundStreamHandler(logging.StreamHandler[TextIO]):
    """A stream handler that formats and writes access lines in batches, on a thread of its own.

    A request only appends its access line to a deque: it never waits on a slow stderr, nor
    pays for the formatting. The thread wakes at most every `BATCH_SECONDS` and writes whatever
    has piled up with one write: a line per write would take the GIL, and a syscall, for every
    request. Every other record is written at once, after the lines still pending, so nothing
    is reordered, and nothing is lost when the process stops right after logging it (uvicorn
    ends a SIGTERM by re-raising the signal, which runs no exit handler).
    """

    # Each wake takes the GIL from the event loop's thread, and the lines then written all at
    # once keep it from serving: fewer, larger batches cost requests less than many small ones.
    BATCH_SECONDS = 0.25

    def __init__(self, stream: TextIO = sys.stderr) -> None:
        super().__init__(stream)
        self._pending: deque[logging.LogRecord] = deque()
        self._wakeup = threading.Event()
        self._running = True
        self._thread = threading.Thread(target=self._write_batches, name="log-writer", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    def handle(self, record: logging.LogRecord) -> bool:
        """Queue an access line (no lock: deques append atomically); handle anything else now."""
        if record.name != ACCESS_LOGGER or not self._running:
            return bool(super().handle(record))
        if not self.filter(record):
            return False
        self._pending.append(record)
        if not self._wakeup.is_set():
            self._wakeup.set()
        return True

    def emit(self, record: logging.LogRecord) -> None:
        """Write the pending access lines, then this record (called with the handler's lock)."""
        self._write_pending()
        super().emit(record)

    def _write_pending(self) -> None:
        lines = []
        while self._pending:
            record = self._pending.popleft()
            try:
                lines.append(self.format(record) + self.terminator)
            except Exception:
                self.handleError(record)
        if lines:
            try:
                self.stream.write("".join(lines))
                self.flush()
            except Exception:
                self.handleError(record)

    def _write_pending_locked(self) -> None:
        self.acquire()
        try:
            self._write_pending()
        finally:
            self.release()

    def _write_batches(self) -> None:
        while self._running:
            self._wakeup.wait()
            # Let a batch gather: one write for many lines, and few GIL handovers.
            time.sleep(self.BATCH_SECONDS)
            self._wakeup.clear()
            self._write_pending_locked()

    def close(self) -> None:
        """Write out what is pending, then stop the thread (once, whoever asks first)."""
        if self._running:
            self._running = False
            self._wakeup.set()
            self._thread.join()
            self._write_pending_locked()
        super().close()


def log_config(settings: Settings) -> dict[str, Any]:
    """A `logging.config.dictConfig` dictionary for uvicorn and the service's loggers."""
    formatter: dict[str, Any] = (
        {"()": f"{__name__}.JsonFormatter"}
        if settings.log_format == "json"
        else {"()": f"{__name__}.TextFormatter", "format": _TEXT_FORMAT}
    )
    level = settings.log_level
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"service": formatter},
        "handlers": {
            "default": {
                "()": f"{__name__}.BackgroundStreamHandler",
                "formatter": "service",
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            # Replaced by the service's access log, which adds the request id and duration.
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            "todo_api": {"handlers": ["default"], "level": level, "propagate": False},
        },
        # Libraries' warnings (the MCP SDK's, say) in the service's format too.
        "root": {"handlers": ["default"], "level": "WARNING"},
    }

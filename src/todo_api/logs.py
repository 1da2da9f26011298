"""Logging: the one place that decides how the service and uvicorn log.

`log_config()` is handed to uvicorn (`todo-api serve` does it), which applies it in every worker.
Requests are logged once each by `RequestContextMiddleware` on the `todo_api.access` logger;
uvicorn's own access log is switched off so that lines are not doubled.
"""

import atexit
import json
import logging
import sys
from datetime import UTC, datetime
from logging.handlers import QueueHandler, QueueListener
from queue import Queue
from typing import Any, TextIO

from todo_api.config import Settings

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
logging.logAsyncioTasks = False


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and the access fields if any."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in ACCESS_FIELDS:
            if name in record.__dict__:
                entry[name] = record.__dict__[name]
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class BackgroundStreamHandler(QueueHandler):
    """A stream handler that formats and writes access lines on a thread of its own.

    A request only queues its access line: it never waits on a slow stderr, nor pays for the
    formatting. Every other record is written at once, after the lines queued before it, so
    nothing is reordered, and nothing is lost when the process stops right after logging it
    (uvicorn ends a SIGTERM by re-raising the signal, which runs no exit handler).
    """

    def __init__(self, stream: TextIO = sys.stderr) -> None:
        super().__init__(Queue())
        self.writer = logging.StreamHandler(stream)
        self._listener: QueueListener | None = QueueListener(self.queue, self.writer)
        self._listener.start()
        atexit.register(self.close)

    def setFormatter(self, fmt: logging.Formatter | None) -> None:
        """The formatter runs on the writer thread."""
        self.writer.setFormatter(fmt)

    def emit(self, record: logging.LogRecord) -> None:
        """Queue an access line; write anything else now, once the queue is written out."""
        if record.name == ACCESS_LOGGER and self._listener is not None:
            super().emit(record)
            return
        self.queue.join()  # type: ignore[attr-defined]
        self.writer.handle(record)

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        # Same process: the record is handed over as it is, args and exception included, for
        # the writer's formatter (QueueHandler would flatten it to be picklable).
        return record

    def close(self) -> None:
        """Write out what is queued, then stop the thread (once, whoever asks first)."""
        if self._listener is not None:
            self._listener.stop()
            self._listener = None
        self.writer.close()
        super().close()


def log_config(settings: Settings) -> dict[str, Any]:
    """A `logging.config.dictConfig` dictionary for uvicorn and the service's loggers."""
    formatter: dict[str, Any] = (
        {"()": f"{__name__}.JsonFormatter"}
        if settings.log_format == "json"
        else {"format": _TEXT_FORMAT}
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
    }

"""Log output: the background handler writes every record, in order, formatted on its thread."""

import io
import json
import logging
import time

import pytest

from todo_api.core.logs import (
    _TEXT_FORMAT,
    ACCESS_LOGGER,
    BackgroundStreamHandler,
    JsonFormatter,
    TextFormatter,
    log_access,
)


@pytest.fixture
def use_handler(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest):
    """Route a logger to one handler only, for this test (the loggers are process-wide)."""

    def route(handler: logging.Handler, name: str = ACCESS_LOGGER) -> logging.Logger:
        logger = logging.getLogger(name)
        monkeypatch.setattr(logger, "handlers", [handler])
        monkeypatch.setattr(logger, "propagate", False)
        request.addfinalizer(lambda level=logger.level: logger.setLevel(level))
        logger.setLevel(logging.INFO)  # through setLevel: it resets the logger's level cache
        return logger

    return route


def test_background_handler_writes_every_record_in_order_by_close(use_handler) -> None:
    stream = io.StringIO()
    handler = BackgroundStreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = use_handler(handler)
    for number in range(500):
        logger.info("line %d", number)
    handler.close()
    assert stream.getvalue().splitlines() == [f"line {number}" for number in range(500)]


def test_access_lines_are_written_by_the_thread_without_waiting_for_close(use_handler) -> None:
    stream = io.StringIO()
    handler = BackgroundStreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = use_handler(handler)
    logger.info("GET /api/u/tasks 200")
    deadline = time.monotonic() + 5
    while not stream.getvalue() and time.monotonic() < deadline:
        time.sleep(0.01)
    written = stream.getvalue()
    handler.close()
    assert written == "GET /api/u/tasks 200\n"


def test_other_records_are_written_at_once_after_the_queued_access_lines(use_handler) -> None:
    stream = io.StringIO()
    handler = BackgroundStreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    access, server = use_handler(handler), use_handler(handler, "todo_api.test_logs")
    for number in range(200):
        access.info("request %d", number)
    server.info("Application shutdown complete.")
    # Not closed: a process that dies by its signal now must already have written it all.
    lines = stream.getvalue().splitlines()
    handler.close()
    assert lines == [f"request {number}" for number in range(200)] + [
        "Application shutdown complete."
    ]


def test_background_handler_keeps_exceptions_and_extra_fields_for_the_formatter(
    use_handler,
) -> None:
    stream = io.StringIO()
    handler = BackgroundStreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = use_handler(handler)
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logger.exception("failed %s", "here", extra={"request_id": "r-1"})
    handler.close()
    entry = json.loads(stream.getvalue())
    assert entry["message"] == "failed here"
    assert entry["request_id"] == "r-1"
    assert "RuntimeError: boom" in entry["exception"]


def test_closing_the_background_handler_twice_is_harmless() -> None:
    handler = BackgroundStreamHandler(io.StringIO())
    handler.close()
    handler.close()


class Keep(logging.Handler):
    """Keeps the records it is handed."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


ACCESS = ("GET", "/api/u/tasks", 200, 1.234, "r-1", "10.0.0.1")
ACCESS_NAMES = ("method", "path", "status", "duration_ms", "request_id", "client")


def test_an_access_record_is_the_one_logger_info_with_extra_would_make(use_handler) -> None:
    keep = Keep()
    logger = use_handler(keep)
    fields = dict(zip(ACCESS_NAMES, ACCESS, strict=True))
    logger.info("GET /api/u/tasks 200 1.23ms id=r-1", extra=fields | {"duration_ms": 1.23})
    log_access(*ACCESS)
    made, templated = (vars(record) for record in keep.records)
    clock = ("created", "msecs", "relativeCreated")
    assert {k: v for k, v in templated.items() if k not in clock} == {
        k: v for k, v in made.items() if k not in clock
    }
    assert 0 <= templated["created"] - made["created"] < 5
    assert templated["msecs"] == int((templated["created"] % 1) * 1000)
    # Both count from the logging module's start.
    started = made["created"] - made["relativeCreated"] / 1000
    assert templated["created"] - templated["relativeCreated"] / 1000 == pytest.approx(started)
    assert keep.records[1].getMessage() == "GET /api/u/tasks 200 1.23ms id=r-1"


def test_access_lines_are_not_made_when_the_access_log_is_off(use_handler) -> None:
    keep = Keep()
    use_handler(keep).setLevel(logging.WARNING)
    log_access(*ACCESS)
    assert keep.records == []


def test_text_formatter_writes_times_as_logging_does_within_and_across_seconds() -> None:
    ours, theirs = TextFormatter(_TEXT_FORMAT), logging.Formatter(_TEXT_FORMAT)
    base = int(time.time())
    for created in (base + 0.001, base + 0.5, base + 0.999, base + 1.0, base + 61.25, base + 0.2):
        record = logging.LogRecord(ACCESS_LOGGER, logging.INFO, "", 0, "line", (), None)
        record.created, record.msecs = created, int((created % 1) * 1000) + 0.0
        assert ours.format(record) == theirs.format(record)

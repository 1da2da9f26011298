"""Log output: the background handler writes every record, in order, formatted on its thread."""

import io
import json
import logging
import time

import pytest

from todo_api.logs import ACCESS_LOGGER, BackgroundStreamHandler, JsonFormatter


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

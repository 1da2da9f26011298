"""Log output: the background handler writes every record, in order, formatted on its thread."""

import io
import json
import logging

from todo_api.logs import ACCESS_LOGGER, BackgroundStreamHandler, JsonFormatter


def _logger(handler: logging.Handler, name: str = ACCESS_LOGGER) -> logging.Logger:
    logger = logging.getLogger(name)
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger


def test_background_handler_writes_every_record_in_order_by_close() -> None:
    stream = io.StringIO()
    handler = BackgroundStreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = _logger(handler)
    for number in range(500):
        logger.info("line %d", number)
    handler.close()
    assert stream.getvalue().splitlines() == [f"line {number}" for number in range(500)]


def test_other_records_are_written_at_once_after_the_queued_access_lines() -> None:
    stream = io.StringIO()
    handler = BackgroundStreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    access, server = _logger(handler), _logger(handler, "todo_api.test_logs")
    for number in range(200):
        access.info("request %d", number)
    server.info("Application shutdown complete.")
    # Not closed: a process that dies by its signal now must already have written it all.
    lines = stream.getvalue().splitlines()
    handler.close()
    assert lines == [f"request {number}" for number in range(200)] + [
        "Application shutdown complete."
    ]


def test_background_handler_keeps_exceptions_and_extra_fields_for_the_formatter() -> None:
    stream = io.StringIO()
    handler = BackgroundStreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = _logger(handler)
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

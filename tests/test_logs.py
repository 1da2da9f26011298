"""Log output: the background handler writes every record, in order, formatted on its thread."""

import io
import json
import logging

from todo_api.logs import BackgroundStreamHandler, JsonFormatter


def _logger(handler: logging.Handler) -> logging.Logger:
    logger = logging.getLogger("todo_api.test_logs")
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

"""Log injection: nothing a client sends can forge a log line or drive the operator's terminal."""

import io
import json
import logging

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Headers
from todo_api.core.logs import _TEXT_FORMAT, JsonFormatter, TextFormatter, log_access

FORGED = "/api/x\n2026-12-01 00:00:00,000 INFO todo_api.access: GET /admin 200\r\x1b[2J\x9b31m\x7f"


@pytest.fixture
def lines(monkeypatch: pytest.MonkeyPatch):
    """What the access logger writes, as text and as JSON, line by line."""
    text, json_lines = io.StringIO(), io.StringIO()
    handlers = []
    for stream, formatter in (
        (text, TextFormatter(_TEXT_FORMAT)),
        (json_lines, JsonFormatter()),
    ):
        handler = logging.StreamHandler(stream)
        handler.setFormatter(formatter)
        handlers.append(handler)
    for name in ("todo_api.access", "todo_api"):
        logger = logging.getLogger(name)
        monkeypatch.setattr(logger, "handlers", handlers)
        monkeypatch.setattr(logger, "propagate", False)
        monkeypatch.setattr(logger, "level", logging.INFO)
        logger.manager._clear_cache()
    return lambda: (text.getvalue().splitlines(), json_lines.getvalue().splitlines())


def _no_control_characters(line: str) -> bool:
    return not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in line)


def test_control_characters_in_a_path_are_escaped_in_the_text_and_json_logs(lines) -> None:
    log_access("GET", FORGED, 404, 1.0, "id-1", "127.0.0.1")
    text, json_lines = lines()
    assert len(text) == 1 and len(json_lines) == 1
    assert _no_control_characters(text[0]) and _no_control_characters(json_lines[0])
    assert "\\n2026-12-01" in text[0] and "\\x1b[2J" in text[0] and "\\x9b" in text[0]
    entry = json.loads(json_lines[0])
    assert _no_control_characters(entry["path"]) and _no_control_characters(entry["message"])


def test_unicode_line_and_paragraph_separators_are_escaped_too(lines) -> None:
    # Not control characters, but line breaks to anything that reads the log as Unicode text.
    log_access("GET", "/api/x\u2028FAKE LINE\u2029", 404, 1.0, "id-1", "127.0.0.1")
    text, json_lines = lines()
    for line in (text[0], json_lines[0]):
        assert "\u2028" not in line and "\u2029" not in line
    assert "/api/x\\u2028FAKE LINE\\u2029" in text[0]
    assert json.loads(json_lines[0])["path"] == "/api/x\\u2028FAKE LINE\\u2029"


def test_every_logged_field_is_escaped_not_only_the_access_line(lines) -> None:
    logging.getLogger("todo_api").warning("a %s b", "x\ny\x1b[0m", extra={"client": "c\rd"})
    text, json_lines = lines()
    assert text == ["".join(text)] and len(json_lines) == 1
    assert _no_control_characters(text[0]) and _no_control_characters(json_lines[0])
    assert "x\\ny\\x1b[0m" in text[0]
    assert json.loads(json_lines[0])["client"] == "c\\rd"


def test_a_traceback_keeps_its_lines_but_its_message_cannot_forge_one(lines) -> None:
    try:
        raise ValueError("bad\nINFO forged line\x1b[1m")
    except ValueError:
        logging.getLogger("todo_api").exception("failed")
    text, _ = lines()
    assert text[0].endswith("failed") and text[1] == "Traceback (most recent call last):"
    assert not any(line.startswith("INFO forged") for line in text)
    assert all(_no_control_characters(line) for line in text)


def test_a_request_with_encoded_newlines_logs_one_line(
    client: TestClient, alice: Headers, lines
) -> None:
    response = client.get("/api/alice/tasks/%0a%0dINFO%20forged%1b[2J", headers=alice)
    assert response.status_code == 404
    text, json_lines = lines()
    (line,) = [line for line in text if "todo_api.access" in line]
    assert "\\n\\rINFO forged\\x1b[2J" in line
    assert all(_no_control_characters(line) for line in text + json_lines)

"""CORS in a real browser: Debian's chromium, headless, driven by Playwright.

A page served from another origin (a small HTTP server on another port, standing in for the
frontend on http://localhost:3000) calls the API with `fetch()` and a bearer token, which makes
the browser send a CORS preflight first. The API allows exactly one origin: the page from that
origin gets its JSON; the same page from any other origin is blocked by the browser, and its
write never reaches the database.
"""

import os
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx2 as httpx
import pytest

from tests.conftest import bearer, make_token
from tests.system.conftest import FIGURES, Server, StartServer, free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PAGE = b"""<!doctype html>
<html><head><meta charset="utf-8"><title>frontend</title></head><body>
<script>
  // What a frontend does: call the API with the user's bearer token.
  window.callApi = async (url, token, method, body) => {
    try {
      const response = await fetch(url, {
        method,
        credentials: "include",
        headers: body === null
          ? {Authorization: `Bearer ${token}`}
          : {Authorization: `Bearer ${token}`, "Content-Type": "application/json"},
        body: body === null ? undefined : JSON.stringify(body),
      });
      return {status: response.status, body: await response.json()};
    } catch (error) {
      return {error: String(error)};
    }
  };
</script></body></html>
"""


class _PageHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, *_args: Any) -> None:  # keep the test output clean
        pass


@pytest.fixture
def chromium_path() -> str:
    """Chromium's path; missing chromium fails in CI (which installs it) and skips elsewhere."""
    if shutil.which(CHROMIUM) is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing: .ci/run must install chromium")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    return CHROMIUM


def _serve_page() -> tuple[ThreadingHTTPServer, str]:
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _PageHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def frontends() -> Iterator[tuple[str, str]]:
    """Two page origins: the allowed frontend's and a stranger's."""
    allowed, allowed_origin = _serve_page()
    stranger, stranger_origin = _serve_page()
    yield allowed_origin, stranger_origin
    for server in (allowed, stranger):
        server.shutdown()
        server.server_close()


@pytest.fixture
def api(start_server: StartServer, database_url: str, frontends: tuple[str, str]) -> Server:
    allowed_origin, _ = frontends
    return start_server(database_url, cors_origins=allowed_origin)


def test_browser_allows_the_configured_origin_and_blocks_others(
    chromium_path: str, api: Server, frontends: tuple[str, str]
) -> None:
    from playwright.sync_api import sync_playwright

    allowed_origin, stranger_origin = frontends
    token = make_token("alice")
    tasks_url = f"{api.url}/api/alice/tasks"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            console: list[str] = []
            page.on("console", lambda message: console.append(message.text))

            page.goto(f"{allowed_origin}/")
            created = page.evaluate(
                "([u, t]) => callApi(u, t, 'POST', {title: 'from the browser'})",
                [tasks_url, token],
            )
            assert created.get("status") == 201, created
            assert created["body"]["title"] == "from the browser"
            listed = page.evaluate("([u, t]) => callApi(u, t, 'GET', null)", [tasks_url, token])
            assert listed.get("status") == 200, listed
            assert [task["title"] for task in listed["body"]] == ["from the browser"]

            page.goto(f"{stranger_origin}/")
            blocked_read = page.evaluate(
                "([u, t]) => callApi(u, t, 'GET', null)", [tasks_url, token]
            )
            blocked_write = page.evaluate(
                "([u, t]) => callApi(u, t, 'POST', {title: 'from a stranger'})",
                [tasks_url, token],
            )
        finally:
            browser.close()

    for blocked in (blocked_read, blocked_write):
        assert "error" in blocked and "Failed to fetch" in blocked["error"], blocked
    assert any("blocked by CORS policy" in line for line in console), console
    # The preflight refused the stranger's write: it never reached the database.
    stored = httpx.get(tasks_url, headers=bearer(token), timeout=10).json()
    assert [task["title"] for task in stored] == ["from the browser"]
    FIGURES["browser CORS requests checked"] += 4

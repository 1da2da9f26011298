"""Live updates in a real browser: Debian's chromium opens an `EventSource` with a ticket.

The page comes from another origin (the frontend's), asks the API for a ticket with the user's
bearer token, and opens `EventSource(…/events?ticket=…)`, which can send no header at all. A
task created through the API, by another client, must then appear on the page.
"""

import httpx2 as httpx
import pytest

from tests.conftest import bearer, make_token
from tests.system.conftest import FIGURES, Server, StartServer
from tests.system.test_browser_cors import CHROMIUM_ARGS, _serve_page, chromium_path  # noqa: F401

SCRIPT = """
async ([api, token]) => {
  // What a frontend does: a ticket with the bearer token, then an EventSource with the ticket.
  const response = await fetch(`${api}/api/alice/events/ticket`, {
    method: "POST",
    headers: {Authorization: `Bearer ${token}`},
  });
  const {ticket} = await response.json();
  const list = document.createElement("ul");
  list.id = "tasks";
  document.body.append(list);
  const source = new EventSource(`${api}/api/alice/events?ticket=${encodeURIComponent(ticket)}`);
  source.addEventListener("task.created", (event) => {
    const change = JSON.parse(event.data);
    const item = document.createElement("li");
    item.textContent = change.task.title;
    item.dataset.changeId = event.lastEventId;
    list.append(item);
  });
  await new Promise((resolve, reject) => {
    source.onopen = resolve;
    source.onerror = () => reject(new Error("EventSource failed"));
  });
  window.eventSource = source;
  return "open";
}
"""


@pytest.fixture
def frontend() -> str:
    server, origin = _serve_page()
    yield origin
    server.shutdown()
    server.server_close()


def test_a_task_created_through_the_api_appears_on_a_page_from_another_origin(
    chromium_path: str,  # noqa: F811
    start_server: StartServer,
    database_url: str,
    frontend: str,
) -> None:
    from playwright.sync_api import sync_playwright

    api: Server = start_server(database_url, cors_origins=frontend)
    token = make_token("alice")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(f"{frontend}/")
            assert page.evaluate(SCRIPT, [api.url, token]) == "open"
            created = httpx.post(
                f"{api.url}/api/alice/tasks",
                json={"title": "Created elsewhere"},
                headers=bearer(token),
                timeout=10,
            )
            assert created.status_code == 201
            item = page.wait_for_selector("#tasks li", timeout=10_000)
            assert item.text_content() == "Created elsewhere"
            change_id = item.get_attribute("data-change-id")
            page.evaluate("window.eventSource.close()")
        finally:
            browser.close()
    changes = httpx.get(f"{api.url}/api/alice/changes", headers=bearer(token), timeout=10).json()
    assert [change["id"] for change in changes["changes"]] == [change_id]
    assert "ticket=" not in api.log()
    FIGURES["browser live events checked"] += 1

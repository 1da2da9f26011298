"""`/mcp` is stateless: one MCP session can be served by several `todo-api serve` processes on
one database, request by request, and goes on when the process that began it is gone."""

import itertools
from collections import Counter

import httpx2 as httpx
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.conftest import make_token
from tests.mcp.conftest import call
from tests.system.conftest import FIGURES, StartServer

pytestmark = pytest.mark.anyio


class RoundRobin(httpx.AsyncBaseTransport):
    """Sends each request to the next of some local ports, as a load balancer would."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self._next = itertools.cycle(ports)
        self.answered: Counter[int] = Counter()
        self._inner = httpx.AsyncHTTPTransport()

    def only(self, port: int) -> None:
        self.ports = [port]
        self._next = itertools.cycle(self.ports)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        port = next(self._next)
        request.url = request.url.copy_with(port=port)
        response = await self._inner.handle_async_request(request)
        self.answered[port] += 1
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_one_session_is_served_by_two_processes_and_outlives_one(
    start_server: StartServer, database_url: str, mode: str
) -> None:
    first, second = (start_server(database_url) for _ in range(2))
    token = make_token("alice")
    balancer = RoundRobin([first.port, second.port])
    async with (
        httpx.AsyncClient(transport=balancer, headers={"Authorization": f"Bearer {token}"}) as http,
        Client(streamable_http_client(f"{first.url}/mcp", http_client=http), mode=mode) as session,
    ):
        created = [await call(session, "add_task", title=f"Task {n}") for n in range(4)]
        assert [task["id"] for task in await call(session, "list_tasks")] == [
            task["task_id"] for task in created
        ]
        assert balancer.answered[first.port] >= 2 and balancer.answered[second.port] >= 2
        # The process that answered the session's first request goes away; the session does not.
        first.stop()
        balancer.only(second.port)
        done = await call(session, "complete_task", task_id=created[0]["task_id"])
        assert done["status"] == "completed"
        assert (await call(session, "task_stats"))["completed"] == 1
    FIGURES["MCP requests across two processes"] += sum(balancer.answered.values())
    response = httpx.get(
        f"{second.url}/api/alice/tasks/{created[0]['task_id']}",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.json()["completed"] is True

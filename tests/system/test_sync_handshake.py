"""List, then read changes since the listing's `X-Changes-Cursor`, while others write: nothing is
missed. Real servers (two of them on one PostgreSQL), real concurrent writers.

Each reader lists every task during the writes, then replays the log from that listing's
cursor over what it listed. Once the writers stop, every reader's copy must equal a fresh
listing: a change that committed after the cursor but was left out of the log (a late commit
behind an id already passed, say) would leave a reader's copy stale.
"""

import asyncio
import random
from typing import Any

import httpx2 as httpx

from tests.conftest import TEST_DATABASE_URL, bearer, make_token
from tests.system.conftest import FIGURES, StartServer

WRITERS = 6
OPERATIONS_PER_WRITER = 60
READERS = 8
HEADERS = bearer(make_token("alice"))


async def _list_all(client: httpx.AsyncClient) -> tuple[dict[int, dict[str, Any]], str]:
    response = await client.get("/api/alice/tasks", params={"limit": 100}, headers=HEADERS)
    assert response.status_code == 200, response.text
    cursor = response.headers["X-Changes-Cursor"]
    tasks = {task["id"]: task for task in response.json()}
    while "next" in response.links:
        response = await client.get(response.links["next"]["url"], headers=HEADERS)
        tasks |= {task["id"]: task for task in response.json()}
    return tasks, cursor


async def _replay(
    client: httpx.AsyncClient, tasks: dict[int, dict[str, Any]], since: str
) -> tuple[str, int]:
    applied = 0
    while True:
        response = await client.get(
            "/api/alice/changes", params={"since": since, "limit": 50}, headers=HEADERS
        )
        assert response.status_code == 200, response.text
        page = response.json()
        for change in page["changes"]:
            if change["type"] == "task.deleted":
                tasks.pop(change["task_id"], None)
            else:
                tasks[change["task_id"]] = change["task"]
            applied += 1
        since = page["next"]
        if not page["more"]:
            return since, applied


async def _writer(number: int, clients: list[httpx.AsyncClient]) -> None:
    rng = random.Random(number)
    mine: list[int] = []
    for step in range(OPERATIONS_PER_WRITER):
        client = rng.choice(clients)
        roll = rng.random()
        if roll < 0.4 or not mine:
            response = await client.post(
                "/api/alice/tasks", json={"title": f"w{number}-{step}"}, headers=HEADERS
            )
            assert response.status_code == 201, response.text
            mine.append(response.json()["id"])
        elif roll < 0.65:
            task_id = rng.choice(mine)
            response = await client.patch(f"/api/alice/tasks/{task_id}/complete", headers=HEADERS)
            assert response.status_code == 200, response.text
        elif roll < 0.85:
            task_id = rng.choice(mine)
            response = await client.put(
                f"/api/alice/tasks/{task_id}", json={"title": f"r{step}"}, headers=HEADERS
            )
            assert response.status_code == 200, response.text
        else:
            task_id = mine.pop(rng.randrange(len(mine)))
            response = await client.delete(f"/api/alice/tasks/{task_id}", headers=HEADERS)
            assert response.status_code == 204, response.text


async def _handshake(urls: list[str]) -> int:
    clients = [httpx.AsyncClient(base_url=url, timeout=30) for url in urls]
    try:
        writers = [asyncio.create_task(_writer(n, clients)) for n in range(WRITERS)]
        copies: list[tuple[dict[int, dict[str, Any]], str]] = []
        for number in range(READERS):
            copies.append(await _list_all(clients[number % len(clients)]))
            await asyncio.sleep(0.05)
        await asyncio.gather(*writers)
        final, _ = await _list_all(clients[0])
        assert final, "the writers left tasks behind"
        applied = 0
        for number, (tasks, since) in enumerate(copies):
            _, count = await _replay(clients[-1 - number % len(clients)], tasks, since)
            applied += count
            assert tasks == final
    finally:
        for client in clients:
            await client.aclose()
    return applied


def test_list_then_changes_misses_nothing_under_concurrent_writers(
    start_server: StartServer, database_url: str
) -> None:
    # SQLite is one process's file; PostgreSQL serves two replicas at once.
    servers = [start_server(database_url) for _ in range(2 if TEST_DATABASE_URL else 1)]
    applied = asyncio.run(_handshake([server.url for server in servers]))
    assert applied > 0
    FIGURES["sync handshake changes replayed"] += applied


async def _hammer_one_task(urls: list[str]) -> list[dict[str, Any]]:
    clients = [httpx.AsyncClient(base_url=url, timeout=30) for url in urls]
    try:
        start = (await clients[0].get("/api/alice/changes", headers=HEADERS)).json()["next"]
        created = await clients[0].post("/api/alice/tasks", json={"title": "0"}, headers=HEADERS)
        task_id = created.json()["id"]

        async def write(number: int) -> None:
            for step in range(10):
                client = clients[(number + step) % len(clients)]
                if step % 3 == 2:
                    response = await client.patch(
                        f"/api/alice/tasks/{task_id}/complete", headers=HEADERS
                    )
                else:
                    response = await client.put(
                        f"/api/alice/tasks/{task_id}",
                        json={"title": f"{number}-{step}"},
                        headers=HEADERS,
                    )
                assert response.status_code == 200, response.text

        await asyncio.gather(*(write(n) for n in range(WRITERS * 2)))
        final = (await clients[-1].get(f"/api/alice/tasks/{task_id}", headers=HEADERS)).json()
        tasks: dict[int, dict[str, Any]] = {}
        await _replay(clients[-1], tasks, start)
        assert tasks == {task_id: final}
        since = {"since": start, "limit": 1000}
        log = await clients[0].get("/api/alice/changes", params=since, headers=HEADERS)
        return [change["task"] for change in log.json()["changes"]]
    finally:
        for client in clients:
            await client.aclose()


def test_concurrent_writes_of_one_task_are_logged_in_their_commit_order(
    start_server: StartServer, database_url: str
) -> None:
    """Writers on both servers race on one task: its changes come in the order the writes
    committed (each version once, rising), so replaying them ends at the task as it is."""
    servers = [start_server(database_url) for _ in range(2 if TEST_DATABASE_URL else 1)]
    logged = asyncio.run(_hammer_one_task([server.url for server in servers]))
    versions = [task["version"] for task in logged]
    assert versions == list(range(1, WRITERS * 2 * 10 + 2))

"""Many clients at once against two `todo-api serve` processes sharing one PostgreSQL database.

Clients create, toggle and delete each other's view of the same users' tasks through either
server, at random. Afterwards the stored state must be exactly what the acknowledged operations
imply: every task acknowledged with 201 exists unless a 204 deleted it, and its completed flag
is the parity of its acknowledged toggles. Nothing may fail with a 5xx.
"""

import asyncio
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx2 as httpx

from tests.conftest import bearer, make_token
from tests.system.conftest import FIGURES, Server, StartServer, requires_postgres

pytestmark = requires_postgres

USERS = ["alice", "bob", "carol"]
CLIENTS_PER_USER = 6
OPERATIONS_PER_CLIENT = 80
SEED = 6


@dataclass
class Ledger:
    """What the service acknowledged, per user."""

    created: dict[int, str] = field(default_factory=dict)  # task id -> owner
    deleted: set[int] = field(default_factory=set)
    toggles: Counter[int] = field(default_factory=Counter)
    toggle_results: defaultdict[int, list[bool]] = field(default_factory=lambda: defaultdict(list))
    statuses: Counter[int] = field(default_factory=Counter)
    not_found: set[int] = field(default_factory=set)
    known: defaultdict[str, list[int]] = field(default_factory=lambda: defaultdict(list))


async def _client(number: int, user: str, clients: list[httpx.AsyncClient], ledger: Ledger) -> None:
    rng = random.Random(SEED * 1000 + number)
    headers = bearer(make_token(user))
    tasks = f"/api/{user}/tasks"
    for step in range(OPERATIONS_PER_CLIENT):
        client = rng.choice(clients)  # either server, every time
        known = ledger.known[user]
        roll = rng.random()
        if roll < 0.35 or not known:
            response = await client.post(
                tasks, json={"title": f"c{number}-{step}"}, headers=headers
            )
            ledger.statuses[response.status_code] += 1
            if response.status_code == 201:
                task = response.json()
                assert task["user_id"] == user and task["completed"] is False
                ledger.created[task["id"]] = user
                known.append(task["id"])
        elif roll < 0.85:
            task_id = rng.choice(known)
            response = await client.patch(f"{tasks}/{task_id}/complete", headers=headers)
            ledger.statuses[response.status_code] += 1
            if response.status_code == 404:
                ledger.not_found.add(task_id)
            if response.status_code == 200:
                ledger.toggles[task_id] += 1
                ledger.toggle_results[task_id].append(response.json()["completed"])
        else:
            task_id = rng.choice(known)
            response = await client.delete(f"{tasks}/{task_id}", headers=headers)
            ledger.statuses[response.status_code] += 1
            if response.status_code == 404:
                ledger.not_found.add(task_id)
            if response.status_code == 204:
                assert task_id not in ledger.deleted, f"task {task_id} deleted twice"
                ledger.deleted.add(task_id)


async def _run_clients(servers: list[Server]) -> Ledger:
    ledger = Ledger()
    limits = httpx.Limits(max_connections=CLIENTS_PER_USER * len(USERS))
    clients = [
        httpx.AsyncClient(base_url=server.url, timeout=30, limits=limits) for server in servers
    ]
    try:
        await asyncio.gather(
            *(
                _client(index * CLIENTS_PER_USER + n, user, clients, ledger)
                for index, user in enumerate(USERS)
                for n in range(CLIENTS_PER_USER)
            )
        )
    finally:
        for client in clients:
            await client.aclose()
    return ledger


async def _stored(database_url: str) -> dict[int, dict[str, Any]]:
    connection = await asyncpg.connect(database_url)
    try:
        rows = await connection.fetch("SELECT id, user_id, completed FROM task")
    finally:
        await connection.close()
    return {row["id"]: dict(row) for row in rows}


def test_concurrent_clients_on_two_servers_leave_exactly_the_acknowledged_state(
    start_server: StartServer, database_url: str
) -> None:
    servers = [start_server(database_url, db_pool_size="8") for _ in range(2)]
    ledger = asyncio.run(_run_clients(servers))

    operations = sum(ledger.statuses.values())
    assert operations == len(USERS) * CLIENTS_PER_USER * OPERATIONS_PER_CLIENT
    # 404 only ever means the task was deleted meanwhile; nothing else may go wrong.
    assert set(ledger.statuses) <= {200, 201, 204, 404}, ledger.statuses
    assert ledger.not_found <= ledger.deleted, "404 for a task nobody deleted"
    assert ledger.deleted and ledger.toggles, "the mix exercised too little"

    stored = asyncio.run(_stored(database_url))
    expected_ids = set(ledger.created) - ledger.deleted
    assert set(stored) == expected_ids
    for task_id in expected_ids:
        assert stored[task_id]["user_id"] == ledger.created[task_id]
        assert stored[task_id]["completed"] is (ledger.toggles[task_id] % 2 == 1), task_id
    # Toggles are serialized: n acknowledged toggles saw n distinct states, alternating.
    for task_id, results in ledger.toggle_results.items():
        assert results.count(True) - results.count(False) in {0, 1}, (task_id, results)

    # Both servers show every user exactly the stored state.
    for server in servers:
        for user in USERS:
            listed = _every_page(f"{server.url}/api/{user}/tasks", bearer(make_token(user)))
            assert {task["id"]: task["completed"] for task in listed} == {
                task_id: row["completed"]
                for task_id, row in stored.items()
                if row["user_id"] == user
            }
    FIGURES["concurrent operations verified (2 servers)"] += operations
    print(f"concurrency: {operations} operations, statuses {dict(ledger.statuses)}")


def _every_page(url: str, headers: dict[str, str]) -> list[dict]:
    """Every task of a listing, following `Link: rel="next"` as a client does."""
    tasks: list[dict] = []
    next_url: str | None = url
    while next_url is not None:
        response = httpx.get(next_url, headers=headers, timeout=30)
        assert response.status_code == 200, response.text
        tasks += response.json()
        next_link = response.links.get("next")
        next_url = next_link["url"] if next_link else None
    return tasks

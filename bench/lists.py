"""Lists and manual order: a list's tasks in their order, and a move, against what they are
held to, on a service with a user of 100,000 tasks in 200 lists.

Starts the real service (`todo-api serve`, one worker) on a PostgreSQL database of its own,
seeds a user with 100,000 tasks in 200 lists (one of them holding 50) and a user with 50 tasks
in no list, and measures with wrk in alternating rounds:

- `GET …/tasks?list_id=<the 50-task list>&sort=position` against the 50-task user's plain
  listing (the same 50 tasks' worth of JSON): its cost, the ratio of their requests per second;
- `POST …/tasks/{id}/move` (to the top of that list) against a `PATCH` of a title: the move's
  cost. Both write one row that every request writes, so both wait on that row's lock (and
  the move holds its list, for share, from before it reads where the top is until it commits);
- the same, each request for the next of the big user's other tasks (each in another list than
  the one before): the move's cost where moves seldom wait for each other.

`uv run python -m bench.lists [--quick]`, or as part of `python -m bench`.
"""

import asyncio
import os
import sys
from datetime import timedelta

import asyncpg
import httpx2 as httpx
from sqlalchemy.engine import make_url

from bench.harness import (
    POSITION_OF_N,
    SECRET,
    SERVICE_ENV,
    TODO_API,
    Server,
    drop_database,
    recreate_database,
)
from bench.pairs import Pair, compare, dump
from bench.pairs import main as pairs_main
from bench.pairs import report as pairs_report
from bench.wrk import ensure_wrk
from todo_api.accounts import issue_token

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/todo_bench_lists"
BIG_TASKS, LISTS, SMALL_LIST = 100_000, 200, 50
TARGETS = {
    "list in order vs plain list: cost": 1.2,
    "move vs PATCH: cost": 1.2,
    "move vs PATCH, each of another task: cost": 1.2,
}


async def _seed(url: str) -> tuple[int, int, int, tuple[int, int]]:
    """The users and their tasks; the 50-task list's id, a task in it, a small user's task, and
    the first and last ids of the big user's tasks in the other lists (each next id in another
    list)."""
    connection = await asyncpg.connect(url)
    try:
        for user in ("big", "small"):
            await connection.execute(
                'INSERT INTO "user" (id, name, email, "emailVerified", "createdAt", '
                "\"updatedAt\") VALUES ($1, $1, $1 || '@bench.invalid', false, now(), now())",
                user,
            )
        lists = await connection.fetch(
            "INSERT INTO task_list (user_id, name, position, created_at, updated_at) "
            f"SELECT 'big', 'List ' || n, {POSITION_OF_N}, now(), now() "
            "FROM generate_series(1, $1) AS n RETURNING id",
            LISTS,
        )
        ids = sorted(row["id"] for row in lists)
        small_list, others = ids[0], ids[1:]
        await connection.execute(
            "INSERT INTO task (user_id, list_id, title, description, completed, created_at, "
            f"updated_at, position) SELECT 'big', $1, 'Task ' || n, 'Seeded', false, now(), "
            f"now(), {POSITION_OF_N} FROM generate_series(1, $2) AS n",
            small_list,
            SMALL_LIST,
        )
        await connection.execute(
            "INSERT INTO task (user_id, list_id, title, description, completed, created_at, "
            f"updated_at, position) SELECT 'big', ($1::int[])[1 + n % $2], 'Task ' || n, "
            f"'Seeded', n % 3 = 0, now(), now(), {POSITION_OF_N} "
            "FROM generate_series(1, $3) AS n",
            others,
            len(others),
            BIG_TASKS - SMALL_LIST,
        )
        await connection.execute(
            "INSERT INTO task (user_id, title, description, completed, created_at, updated_at, "
            f"position) SELECT 'small', 'Task ' || n, 'Seeded', false, now(), now(), "
            f"{POSITION_OF_N} FROM generate_series(1, $1) AS n",
            SMALL_LIST,
        )
        await connection.execute("VACUUM ANALYZE")
        moving = await connection.fetchval(
            "SELECT max(id) FROM task WHERE list_id = $1", small_list
        )
        patched = await connection.fetchval("SELECT min(id) FROM task WHERE user_id = 'small'")
        spread = await connection.fetchrow(
            "SELECT min(id), max(id) FROM task WHERE user_id = 'big' AND list_id <> $1",
            small_list,
        )
        return small_list, moving, patched, (spread[0], spread[1])
    finally:
        await connection.close()


def run(database_url: str = DEFAULT_URL, *, quick: bool = False) -> list[Pair]:
    """Measure against a fresh service on `database_url`."""
    asyncio.run(recreate_database(database_url))
    env = (
        os.environ
        | SERVICE_ENV
        | {
            "DATABASE_URL": make_url(database_url).render_as_string(hide_password=False),
            "LOG_LEVEL": "WARNING",
        }
    )
    service = Server("service", [TODO_API, "serve", "--port", "{port}"], env)
    try:
        small_list, moving, patched, spread = asyncio.run(
            _seed(make_url(database_url).render_as_string(hide_password=False))
        )
        tokens = {
            user: issue_token(SECRET, subject=user, expires_in=timedelta(hours=2))
            for user in ("big", "small")
        }
        listing = f"/api/big/tasks?list_id={small_list}&sort=position"
        check = httpx.get(
            service.base + listing, headers={"Authorization": f"Bearer {tokens['big']}"}
        )
        if check.status_code != 200 or len(check.json()) != SMALL_LIST:
            sys.exit(f"the list's listing is not its {SMALL_LIST} tasks: {check.text[:200]}")
        wrk = ensure_wrk()
        load = {"duration": 3 if quick else 10, "connections": 32}
        rounds = 1 if quick else 3
        comparisons = {
            "list in order vs plain list": (
                {"method": "GET", "path": listing, "token": tokens["big"]},
                {"method": "GET", "path": "/api/small/tasks", "token": tokens["small"]},
            ),
            "move vs PATCH": (
                {
                    "method": "POST",
                    "path": "/api/big/tasks/ID/move",
                    "token": tokens["big"],
                    "body": "{}",
                    "ids": (moving, moving),
                },
                {
                    "method": "PATCH",
                    "path": "/api/small/tasks/ID",
                    "token": tokens["small"],
                    "body": '{"title": "Renamed by wrk"}',
                    "ids": (patched, patched),
                },
            ),
            "move vs PATCH, each of another task": (
                {
                    "method": "POST",
                    "path": "/api/big/tasks/ID/move",
                    "token": tokens["big"],
                    "body": "{}",
                    "ids": spread,
                },
                {
                    "method": "PATCH",
                    "path": "/api/big/tasks/ID",
                    "token": tokens["big"],
                    "body": '{"title": "Renamed by wrk"}',
                    "ids": spread,
                },
            ),
        }
        pairs = compare(wrk, service.base, comparisons, rounds, load)
    finally:
        service.stop()
        asyncio.run(drop_database(database_url))
    return pairs


def report(pairs: list[Pair]) -> bool:
    """Print the rows and the targets; whether they were met and nothing failed."""
    # Each comparison's row: what is measured, and what it is held to.
    rows = {
        "list in order vs plain list": ("list in order", "plain list (50 tasks)"),
        "move vs PATCH": ("move (one task, its list held by every move)", "PATCH (one task)"),
        "move vs PATCH, each of another task": (
            "move (each of another task, in 199 lists)",
            "PATCH (the same tasks)",
        ),
    }
    goals = {name: TARGETS[f"{name}: cost"] for name in rows}
    met = pairs_report("lists and order (100,000 tasks in 200 lists)", pairs, rows, goals)
    dump("lists", pairs)
    return met


if __name__ == "__main__":
    pairs_main(__doc__, DEFAULT_URL, run, report)

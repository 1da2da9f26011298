"""Shared lists: a member's listing, and one change reaching every member's open stream.

Starts the real service (`todo-api serve`, one worker) on a PostgreSQL database of its own and
seeds, in SQL (so that no feed holds anything yet): 20 lists of 20 owners with 50 tasks each,
every list shared with the same 50 members (`sharer` and 49 others); `sharer` has 50 tasks of
their own, and `loner`, in no list, has 50 too. Then:

- with wrk, in alternating rounds: `GET /api/sharer/tasks?limit=50` (their own tasks and the
  1,000 of their shared lists, merged) against `GET /api/loner/tasks?limit=50` (the same 50
  tasks' worth of JSON): the cost of being in 20 shared lists;
- one event stream open for each of the 50 members of one list, its owner adding tasks to it
  through the API, 2 s apart: how long each change takes to reach each member's stream.

`uv run python -m bench.sharing [--quick]`, or as part of `python -m bench`.
"""

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
from dataclasses import dataclass
from datetime import timedelta

import asyncpg
import httpx2 as httpx
from sqlalchemy.engine import make_url

from bench.__main__ import time_streams
from bench.harness import (
    POSITION_OF_N,
    SECRET,
    SERVICE_ENV,
    TODO_API,
    Server,
    drop_database,
    recreate_database,
)
from bench.wrk import Result, ensure_wrk, median_of, run_wrk
from todo_api.accounts import issue_token

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/todo_bench_sharing"
LISTS, MEMBERS, TASKS_PER_LIST, OWN_TASKS = 20, 50, 50, 50
LISTING_GOAL, FAN_OUT_P99_GOAL_MS = 1.3, 2000.0


@dataclass
class Sharing:
    """What the run measured."""

    member: Result
    loner: Result
    cost: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    delivered: int
    expected: int


async def _seed(url: str) -> int:
    """The users, lists, memberships and tasks; the id of the first list."""
    members = ["sharer", *(f"member-{n}" for n in range(1, MEMBERS))]
    owners = [f"owner-{n}" for n in range(1, LISTS + 1)]
    connection = await asyncpg.connect(url)
    try:
        await connection.executemany(
            'INSERT INTO "user" (id, name, email, "emailVerified", "createdAt", "updatedAt") '
            "VALUES ($1, $1, $1 || '@bench.invalid', false, now(), now())",
            [(user,) for user in [*members, *owners, "loner"]],
        )
        lists = []
        for owner in owners:
            lists.append(
                await connection.fetchval(
                    "INSERT INTO task_list (user_id, name, position, created_at, updated_at) "
                    "VALUES ($1, 'Shared', 'a0', now(), now()) RETURNING id",
                    owner,
                )
            )
            await connection.execute(
                "INSERT INTO task (user_id, list_id, title, description, completed, created_at, "
                f"updated_at, position, created_by) SELECT $1, $2, 'Task ' || n, 'Seeded', "
                f"false, now(), now(), {POSITION_OF_N}, $1 FROM generate_series(1, $3) AS n",
                owner,
                lists[-1],
                TASKS_PER_LIST,
            )
        await connection.executemany(
            "INSERT INTO list_member (list_id, user_id, role, joined_at) "
            "VALUES ($1, $2, 'editor', now())",
            [(list_id, member) for list_id in lists for member in members],
        )
        # As joining does: a list counts its members (a write reads them only when it has some).
        await connection.execute(
            "UPDATE task_list SET member_count = (SELECT count(*) FROM list_member "
            "WHERE list_member.list_id = task_list.id) WHERE id = ANY($1::int[])",
            lists,
        )
        for user in ("sharer", "loner"):
            await connection.execute(
                "INSERT INTO task (user_id, title, description, completed, created_at, "
                f"updated_at, position, created_by) SELECT $1, 'Task ' || n, 'Seeded', false, "
                f"now(), now(), {POSITION_OF_N}, $1 FROM generate_series(1, $2) AS n",
                user,
                OWN_TASKS,
            )
        await connection.execute("VACUUM ANALYZE")
        return int(lists[0])
    finally:
        await connection.close()


def _token(user: str) -> str:
    return issue_token(SECRET, subject=user, expires_in=timedelta(hours=2))


def _fan_out(service: Server, list_id: int, changes: int) -> tuple[list[float], int]:
    """Latencies (ms) of `changes` creates in the list reaching each member's stream."""
    members = ["sharer", *(f"member-{n}" for n in range(1, MEMBERS))]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as pairs:
        json.dump([[member, _token(member)] for member in members], pairs)
    owner = {"Authorization": f"Bearer {_token('owner-1')}"}
    with httpx.Client(base_url=service.base, headers=owner, timeout=30) as writer:

        def create(n: int) -> int:
            body = {"title": f"Live {n}", "list_id": list_id}
            response = writer.post("/api/owner-1/tasks", json=body)
            response.raise_for_status()
            return int(response.json()["id"])

        latencies = time_streams(service, ["-", "-", "0", pairs.name], create, changes)
    os.unlink(pairs.name)
    return latencies, len(members) * changes


def run(database_url: str = DEFAULT_URL, *, quick: bool = False) -> Sharing:
    """Measure against a fresh service on `database_url`."""
    asyncio.run(recreate_database(database_url))
    url = make_url(database_url).render_as_string(hide_password=False)
    env = os.environ | SERVICE_ENV | {"DATABASE_URL": url, "LOG_LEVEL": "WARNING"}
    service = Server("service", [TODO_API, "serve", "--port", "{port}"], env)
    try:
        list_id = asyncio.run(_seed(url))
        page = "/api/{user}/tasks?limit=50"
        for user in ("sharer", "loner"):
            check = httpx.get(
                service.base + page.format(user=user),
                headers={"Authorization": f"Bearer {_token(user)}"},
            )
            if check.status_code != 200 or len(check.json()) != 50:
                sys.exit(f"{user}'s page is not 50 tasks: {check.text[:200]}")
        wrk = ensure_wrk()
        load = {"duration": 3 if quick else 10, "connections": 32}
        member, loner = [], []
        for number in range(1 if quick else 3):
            order = [(member, "sharer"), (loner, "loner")]
            for results, user in order if number % 2 == 0 else order[::-1]:
                request = {"method": "GET", "path": page.format(user=user), "token": _token(user)}
                results.append(run_wrk(wrk, service.base, **request, **load))
        cost = statistics.median(
            b.requests_per_second / m.requests_per_second
            for m, b in zip(member, loner, strict=True)
        )
        latencies, expected = _fan_out(service, list_id, 3 if quick else 10)
    finally:
        service.stop()
        asyncio.run(drop_database(database_url))
    if not latencies:
        sys.exit("no change reached the members' streams")
    return Sharing(
        median_of(member),
        median_of(loner),
        cost,
        statistics.median(latencies),
        latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        latencies[-1],
        len(latencies),
        expected,
    )


def report(result: Sharing) -> bool:
    """Print the rows and the targets; whether they were met and nothing failed."""
    listing_ok = result.cost <= LISTING_GOAL and not (result.member.errors + result.loner.errors)
    fan_out_ok = result.p99_ms < FAN_OUT_P99_GOAL_MS and result.delivered == result.expected
    print(
        "| shared lists (20 lists, 50 members each) | req/s | p50 ms | p99 ms | errors "
        "| held to | req/s | p50 ms | cost | goal | met |"
    )
    print("|---|---:|---:|---:|---:|---|---:|---:|---:|---:|:-:|")
    print(
        f"| a member's page (50 of 1,050 tasks) | {result.member.requests_per_second:,.0f} "
        f"| {result.member.p50_ms:.2f} | {result.member.p99_ms:.2f} "
        f"| {result.member.errors + result.loner.errors} | a user in no list "
        f"| {result.loner.requests_per_second:,.0f} | {result.loner.p50_ms:.2f} "
        f"| {result.cost:.2f}× | ≤ {LISTING_GOAL} | {'yes' if listing_ok else 'NO'} |"
    )
    print()
    print(
        "| one change to a list of 50 members | delivered | p50 ms | p99 ms | max ms | goal | met |"
    )
    print("|---|---:|---:|---:|---:|---:|:-:|")
    print(
        f"| reaching every member's open stream | {result.delivered}/{result.expected} "
        f"| {result.p50_ms:.0f} | {result.p99_ms:.0f} | {result.max_ms:.0f} "
        f"| p99 < {FAN_OUT_P99_GOAL_MS:.0f} | {'yes' if fan_out_ok else 'NO'} |"
    )
    print(json.dumps({"sharing": result.__dict__}, default=vars), file=sys.stderr)
    return listing_ok and fan_out_ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short rounds (CI smoke)")
    parser.add_argument("--database-url", default=DEFAULT_URL)
    args = parser.parse_args()
    result = run(args.database_url, quick=args.quick)
    report(result)
    if result.member.errors or result.loner.errors:
        sys.exit("error responses")


if __name__ == "__main__":
    main()

"""The default listing stays one index range scan with LIMIT, however many tasks there are
(and one per list shared with the user, merged with it)."""

import asyncio
import re

import asyncpg
import pytest
from fastapi.testclient import TestClient

from tests.conftest import TEST_DATABASE_URL, Headers
from todo_api.core.database.postgres import _compile
from todo_api.tasks.listing import StatusFilter
from todo_api.tasks.queries import default_list


async def _alices_plan(connection: asyncpg.Connection, status: StatusFilter, fetch: int) -> str:
    """The default listing's plan for alice's first page of `fetch` rows, as a generic plan."""
    # Prepared statements switch to generic plans, which know no owner: force one.
    await connection.execute("SET plan_cache_mode = force_generic_plan")
    compiled = _compile(default_list("postgresql", status).statement)
    args = compiled.args({"reader": "alice", "owner": "alice", "after_id": 0, "fetch": fetch})
    literals = ", ".join(f"'{a}'" if isinstance(a, str) else str(a) for a in args)
    await connection.execute(f"PREPARE listing_{status.value} AS {compiled.sql}")
    rows = await connection.fetch(f"EXPLAIN EXECUTE listing_{status.value}({literals})")
    return "\n".join(row[0] for row in rows)


async def _list_of(connection: asyncpg.Connection, owner: str, name: str, tasks: int) -> int:
    """A new list of `owner`'s holding `tasks` tasks, every other one completed; its id."""
    list_id = await connection.fetchval(
        "INSERT INTO task_list (user_id, name, position, created_at, updated_at) "
        "VALUES ($1, $2, 'a0', now(), now()) RETURNING id",
        owner,
        name,
    )
    await connection.execute(
        "INSERT INTO task (user_id, list_id, title, completed, created_at, updated_at, "
        "position) SELECT $1, $2, 't' || n, n % 2 = 0, now(), now(), 'a0V' "
        "FROM generate_series(1, $3) n",
        owner,
        list_id,
        tasks,
    )
    return int(list_id)


async def _plans(database_url: str) -> list[str]:
    connection = await asyncpg.connect(database_url)
    try:
        # A user with many tasks created last, and one with few created first: the shapes in
        # which walking the primary key and filtering by owner goes wrong.
        await connection.execute(
            'INSERT INTO "user" (id, name, email, "emailVerified", "createdAt", "updatedAt") '
            "VALUES ('big', 'big', 'big@x', false, now(), now())"
        )
        # Its tasks in a list of its own, which nobody shares: what the shared lists' part
        # must not walk through.
        await _list_of(connection, "big", "Big", 20000)
        await connection.execute("ANALYZE")
        return [await _alices_plan(connection, status, 101) for status in StatusFilter]
    finally:
        await connection.close()


def test_default_list_is_an_index_range_scan_with_limit(
    client: TestClient, alice: Headers, database_url: str, create_task
) -> None:
    if TEST_DATABASE_URL is None:
        pytest.skip("query plans are PostgreSQL's")
    for i in range(50):
        create_task(title=f"mine {i}")
    for plan in asyncio.run(_plans(database_url)):
        assert plan.startswith("Limit"), plan
        assert "Index Scan using ix_task_user_id_id" in plan, plan
        owner_range = (
            r"Index Cond: \(\(ROW\(user_id, id\) > ROW\((\$\d+), \$\d+\)\) AND \(user_id <= \1\)\)"
        )
        assert re.search(owner_range, plan), plan
        # The shared lists' part is led by the user's memberships (none here: nothing more is
        # read), then each list's tasks, limited: never the task table as a whole.
        assert _led_by_memberships(plan), plan
        assert "Seq Scan on task" not in plan and "Hash Join" not in plan, plan
        # The user's own tasks are limited before they are sorted: a page's rows at most.
        lines = [line for line in plan.splitlines() if "Sort Key" not in line]
        own = next(at for at, line in enumerate(lines) if "ix_task_user_id_id" in line)
        assert "Limit" in lines[own - 1], plan


def _led_by_memberships(plan: str) -> bool:
    """Whether the user's memberships (their distinct list ids) are a nested loop's outer side."""
    lines = [line.strip() for line in plan.splitlines()]
    at = lines.index(next(line for line in lines if "on list_member" in line)) - 1
    distinct = ("->  HashAggregate", "->  Unique", "->  Sort", "Group Key", "Sort Key")
    while lines[at].startswith(distinct):
        at -= 1
    return lines[at].startswith("->  Nested Loop")


async def _member_plan(database_url: str) -> str:
    """The default listing's generic plan for alice, a member of 20 lists of 50 members."""
    connection = await asyncpg.connect(database_url)
    try:
        users = ["alice", *(f"member-{n}" for n in range(49)), *(f"owner-{n}" for n in range(20))]
        await connection.executemany(
            'INSERT INTO "user" (id, name, email, "emailVerified", "createdAt", "updatedAt") '
            "VALUES ($1, $1, $1 || '@x', false, now(), now()) ON CONFLICT DO NOTHING",
            [(user,) for user in users],
        )
        for n in range(20):
            list_id = await _list_of(connection, f"owner-{n}", "Shared", 50)
            await connection.executemany(
                "INSERT INTO list_member (list_id, user_id, role, joined_at) "
                "VALUES ($1, $2, 'editor', now())",
                [(list_id, user) for user in users[:50]],
            )
        await connection.execute("ANALYZE")
        return await _alices_plan(connection, StatusFilter.all, 51)
    finally:
        await connection.close()


def test_a_members_page_scans_each_shared_list_once_without_caching_it(
    client: TestClient, alice: Headers, database_url: str, create_task
) -> None:
    if TEST_DATABASE_URL is None:
        pytest.skip("query plans are PostgreSQL's")
    create_task(title="mine")
    plan = asyncio.run(_member_plan(database_url))
    assert _led_by_memberships(plan), plan
    # A Memoize over each list's scan copies every row it passes: no list comes twice.
    assert "Memoize" not in plan, plan
    assert "Seq Scan on task" not in plan and "Hash Join" not in plan, plan


async def _referencing_rows_plan(database_url: str) -> str:
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute(
            'INSERT INTO "user" (id, name, email, "emailVerified", "createdAt", "updatedAt") '
            "VALUES ('big', 'big', 'big@x', false, now(), now())"
        )
        await connection.execute(
            "INSERT INTO task (user_id, title, completed, created_at, updated_at, position) "
            "SELECT 'big', 't' || n, false, now(), now(), 'a0V' FROM generate_series(1, 20000) n"
        )
        await connection.execute("ANALYZE task")
        # What ON DELETE SET NULL runs for every deleted task, as a generic plan.
        await connection.execute("SET plan_cache_mode = force_generic_plan")
        await connection.execute(
            "PREPARE referencing AS "
            "UPDATE task SET next_occurrence_id = NULL WHERE next_occurrence_id = $1"
        )
        rows = await connection.fetch("EXPLAIN EXECUTE referencing(1)")
        return "\n".join(row[0] for row in rows)
    finally:
        await connection.close()


def test_deleting_a_task_finds_the_tasks_pointing_at_it_through_an_index(
    client: TestClient, database_url: str
) -> None:
    if TEST_DATABASE_URL is None:
        pytest.skip("query plans are PostgreSQL's")
    plan = asyncio.run(_referencing_rows_plan(database_url))
    assert "ix_task_next_occurrence_id" in plan, plan
    assert "Seq Scan" not in plan, plan

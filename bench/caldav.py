"""CalDAV against REST: what a calendar client's reads cost next to the REST reads they stand
for, on a service with a user of 10,000 tasks (100 of them in the Inbox).

Starts the real service (`todo-api serve`, one worker) on a PostgreSQL database of its own,
seeds the user, makes a `caldav` app password through the API, and measures with wrk in
alternating rounds:

- a `calendar-multiget` REPORT of the Inbox's 100 todos (Basic auth, the todos' iCalendar)
  against `GET …/tasks?list_id=inbox&limit=100` (a bearer token, their JSON);
- a `sync-collection` REPORT from a token 10 changes back against `GET …/changes` from the
  cursor before the same 10 changes.

`uv run python -m bench.caldav [--quick]`, or as part of `python -m bench`.
"""

import asyncio
import base64
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

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/todo_bench_caldav"
TASKS, INBOX, CHANGES = 10_000, 100, 10
TARGETS = {"multiget vs REST page: cost": 2.0, "sync-collection vs /changes: cost": 1.5}
INBOX_PATH = "/dav/calendars/cal/inbox/"
MULTIGET = (
    '<c:calendar-multiget xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">'
    "<d:prop><d:getetag/><c:calendar-data/></d:prop>{hrefs}</c:calendar-multiget>"
)
SYNC = (
    '<d:sync-collection xmlns:d="DAV:"><d:sync-token>{token}</d:sync-token>'
    "<d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>"
)


async def _seed(url: str) -> list[int]:
    """The user and their tasks: 100 in the Inbox, the rest in a list; the Inbox's ids."""
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(
            'INSERT INTO "user" (id, name, email, "emailVerified", "createdAt", "updatedAt") '
            "VALUES ('cal', 'cal', 'cal@bench.invalid', false, now(), now())"
        )
        list_id = await connection.fetchval(
            "INSERT INTO task_list (user_id, name, position, created_at, updated_at) "
            "VALUES ('cal', 'Work', 'a0', now(), now()) RETURNING id"
        )
        await connection.execute(
            "INSERT INTO task (user_id, list_id, title, description, completed, created_at, "
            f"updated_at, position, due_date, priority, tags) SELECT 'cal', "
            "CASE WHEN n <= $2 THEN NULL ELSE $1::int END, 'Task ' || n, 'Seeded', n % 3 = 0, "
            f"now(), now(), {POSITION_OF_N}, current_date + n % 30, n % 4, "
            '\'["home", "errands"]\'::jsonb FROM generate_series(1, $3) AS n',
            list_id,
            INBOX,
            TASKS,
        )
        await connection.execute("VACUUM ANALYZE")
        rows = await connection.fetch(
            "SELECT id FROM task WHERE user_id = 'cal' AND list_id IS NULL ORDER BY id"
        )
        return [row["id"] for row in rows]
    finally:
        await connection.close()


def _prepare(base: str, token: str, inbox: list[int]) -> tuple[str, str]:
    """An app password's Basic header, and the change cursor from before 10 changes."""
    bearer = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=bearer, timeout=30) as client:
        made = client.post("/api/cal/app-passwords", json={"name": "bench", "scopes": ["caldav"]})
        if made.status_code != 201:
            sys.exit(f"no app password: {made.text[:200]}")
        cursor = client.get("/api/cal/tasks?limit=1").headers["X-Changes-Cursor"]
        for task_id in inbox[:CHANGES]:
            client.patch(f"/api/cal/tasks/{task_id}", json={"title": f"Changed {task_id}"})
    basic = base64.b64encode(f"cal:{made.json()['password']}".encode()).decode()
    return f"Basic {basic}", cursor


def _check(base: str, basic: str, body: str, expected: int) -> None:
    headers = {"Authorization": basic, "Depth": "1", "Content-Type": "application/xml"}
    answer = httpx.request("REPORT", base + INBOX_PATH, content=body, headers=headers)
    found = answer.text.count("<d:response>")
    if answer.status_code != 207 or found != expected:
        sys.exit(f"the report is not its {expected} todos ({found}): {answer.text[:200]}")


def run(database_url: str = DEFAULT_URL, *, quick: bool = False) -> list[Pair]:
    """Measure against a fresh service on `database_url`."""
    asyncio.run(recreate_database(database_url))
    plain_url = make_url(database_url).render_as_string(hide_password=False)
    env = os.environ | SERVICE_ENV | {"DATABASE_URL": plain_url, "LOG_LEVEL": "WARNING"}
    service = Server("service", [TODO_API, "serve", "--port", "{port}"], env)
    try:
        inbox = asyncio.run(_seed(plain_url))
        token = issue_token(SECRET, subject="cal", expires_in=timedelta(hours=2))
        basic, cursor = _prepare(service.base, token, inbox)
        hrefs = "".join(f"<d:href>{INBOX_PATH}{task_id}.ics</d:href>" for task_id in inbox)
        multiget = MULTIGET.format(hrefs=hrefs)
        sync = SYNC.format(token=f"urn:todo-api:sync:{cursor}")
        _check(service.base, basic, multiget, INBOX)
        _check(service.base, basic, sync, CHANGES)
        dav = {"Authorization": basic, "Content-Type": "application/xml", "Depth": "1"}
        wrk = ensure_wrk()
        load = {"duration": 3 if quick else 10, "connections": 32}
        rounds = 1 if quick else 3
        comparisons = {
            "multiget vs REST page": (
                {
                    "method": "REPORT",
                    "path": INBOX_PATH,
                    "token": token,
                    "body": multiget,
                    "headers": dav,
                },
                {"method": "GET", "path": "/api/cal/tasks?list_id=inbox&limit=100", "token": token},
            ),
            "sync-collection vs /changes": (
                {
                    "method": "REPORT",
                    "path": INBOX_PATH,
                    "token": token,
                    "body": sync,
                    "headers": dav,
                },
                {"method": "GET", "path": f"/api/cal/changes?since={cursor}", "token": token},
            ),
        }
        pairs = compare(wrk, service.base, comparisons, rounds, load)
    finally:
        service.stop()
        asyncio.run(drop_database(database_url))
    return pairs


def report(pairs: list[Pair]) -> bool:
    """Print the rows and the targets; whether they were met and nothing failed."""
    rows = {
        "multiget vs REST page": ("multiget", "REST page of 100"),
        "sync-collection vs /changes": ("sync-collection", "/changes for 10"),
    }
    goals = {name: TARGETS[f"{name}: cost"] for name in rows}
    met = pairs_report("CalDAV (10,000 tasks, 100 in the Inbox)", pairs, rows, goals)
    dump("caldav", pairs)
    return met


if __name__ == "__main__":
    pairs_main(__doc__, DEFAULT_URL, run, report)

"""The ceiling: todo-api's list, create and toggle with no framework at all, doing their work.

A bare ASGI callable: PyJWT verification, asyncpg, orjson, the same task JSON from the same
table, and the same database work as the service, each in as few round trips as it can be:

- list: the page of the user's own tasks merged with those of the lists shared with them, and
  the user's log epoch for `X-Changes-Cursor` (the database's log and the user's creation), in
  one statement;
- create: the task inserted and its creation logged (its JSON, for the user's feed) in one
  statement, and answered with that JSON;
- toggle: the flip, and the task's new JSON logged, in one transaction.

The response carries the service's headers (security headers, a request id, the cursor, the
task's ETag).
Left out: validation beyond the title, per-request logging, the change horizon's background
round after each write (the service's is in its round-trip count), rate limits and task caps
(off in the benchmark's service too). Whatever the service spends on top of this is the price
of FastAPI, validation and our own code. Run it with `uvicorn bench.ceiling:app` and
DATABASE_URL / BETTER_AUTH_SECRET set.
"""

import base64
import hashlib
import os
import secrets
import struct
from datetime import UTC, datetime

import asyncpg
import jwt
import orjson

DATABASE_URL = os.environ["DATABASE_URL"]
SECRET = os.environ["BETTER_AUTH_SECRET"]
PAGE = 100

# The same columns the service returns: the whole task row.
COLUMNS = (
    "id, user_id, list_id, parent_id, position, title, description, completed, created_at, "
    "updated_at, completed_at, priority, due_date, due_at, tags, recurrence, "
    "recurrence_interval, next_occurrence_id, version, reminders, subtask_count, "
    "completed_subtask_count, created_by, completed_by"
)
# One row past the page, as the service reads, to know whether there is a next page; the
# lists shared with the user merged in by id; the log's epoch and the user's creation beside.
# The user's own part is spelt as the service spells it (a range of (user_id, id)): with
# `user_id = $1`, PostgreSQL's generic plan may walk the primary key and filter by owner.
LIST_SQL = f"""
SELECT {COLUMNS},
       (SELECT epoch FROM change_log) AS log_epoch,
       (SELECT "createdAt" FROM "user" WHERE id = $1) AS born
FROM (
    (SELECT {COLUMNS} FROM task WHERE (user_id, id) > ($1, 0) AND user_id <= $1
     ORDER BY user_id, id LIMIT $2)
    UNION ALL
    (SELECT {COLUMNS} FROM task WHERE id IN (
        SELECT shared.id FROM (
            SELECT per_list.id FROM list_member JOIN LATERAL (
                SELECT id FROM task WHERE task.list_id = list_member.list_id ORDER BY id LIMIT $2
            ) AS per_list ON true
            WHERE list_member.user_id = $1
        ) AS shared ORDER BY shared.id LIMIT $2))
) AS both_parts ORDER BY id LIMIT $2
"""
STATE_SQL = 'SELECT epoch, (SELECT "createdAt" FROM "user" WHERE id = $1) AS born FROM change_log'
# The task and its creation's log entry in one statement: the JSON after its id is written
# here, the id put in front by the database.
CREATE_SQL = f"""
WITH new AS (
    INSERT INTO task (user_id, title, description, completed, created_at, updated_at,
                      priority, tags, recurrence_interval, version, position, reminders,
                      subtask_count, completed_subtask_count)
    VALUES ($1, $2, $3, false, $4, $4, 0, '[]', 1, 1, $5, '[]', 0, 0)
    RETURNING {COLUMNS}
), logged AS (
    INSERT INTO change (user_id, kind, type, record_id, data, at)
    SELECT $1, 'task', 'task.created', id, '{{"id":' || id || $6, $4 FROM new
)
SELECT * FROM new
"""
TOGGLE_SQL = f"""
UPDATE task SET completed = NOT completed,
                completed_at = CASE WHEN completed THEN NULL ELSE $3::timestamptz END,
                completed_by = CASE WHEN completed THEN NULL ELSE user_id END,
                updated_at = $3, version = version + 1
WHERE id = $1 AND user_id = $2
RETURNING {COLUMNS}
"""
LOG_SQL = (
    "INSERT INTO change (user_id, kind, type, record_id, data, at) "
    "VALUES ($1, 'task', 'task.updated', $2, $3, $4)"
)
PRIORITIES = ("none", "low", "medium", "high")
HEADERS = [
    (b"content-type", b"application/json"),
    (b"vary", b"Origin"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"strict-transport-security", b"max-age=63072000; includeSubDomains"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
    (b"cache-control", b"no-store"),
]
CURSOR = struct.Struct(">IQ")
pool: asyncpg.Pool | None = None
# What a handler answers: the status, the body, and the headers besides those every answer has.
Answer = tuple[int, bytes, list[tuple[bytes, bytes]]]


async def open_pool() -> None:
    global pool
    # Each statement bounded in time, as the service's are (its default 30 s).
    pool = await asyncpg.create_pool(
        DATABASE_URL, min_size=10, max_size=20, reset=keep_session, command_timeout=30
    )


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await open_pool()
            await send({"type": "lifespan.startup.complete"})
        await pool.close()
        await send({"type": "lifespan.shutdown.complete"})
        return

    parts = scope["path"].strip("/").split("/")
    if len(parts) < 3 or parts[0] != "api" or parts[2] != "tasks":
        return await send_answer(send, error(404, "Not Found"))
    user_id = parts[1]
    refused = caller_refused(dict(scope["headers"]).get(b"authorization", b""), user_id)
    if refused is not None:
        return await send_answer(send, refused)
    if len(parts) == 5 and parts[4] == "complete" and scope["method"] == "PATCH":
        return await send_answer(send, await toggle(user_id, int(parts[3])))
    if scope["method"] == "GET":
        return await send_answer(send, await list_page(user_id))
    return await send_answer(send, await create(user_id, orjson.loads(await read_body(receive))))


def caller_refused(authorization: bytes, user_id: str) -> Answer | None:
    """401 without a valid token, 403 when it is not `user_id`'s; None to go on."""
    try:
        claims = jwt.decode(
            authorization.decode().removeprefix("Bearer "),
            SECRET,
            algorithms=["HS256"],
            options={"require": ["exp"]},
        )
    except jwt.InvalidTokenError:
        return error(401, "Invalid token")
    if claims["sub"] != user_id:
        return error(403, "Forbidden")
    return None


async def list_page(user_id) -> Answer:
    rows = await pool.fetch(LIST_SQL, user_id, PAGE + 1)
    state = rows[0] if rows else await pool.fetchrow(STATE_SQL, user_id)
    cursor = changes_cursor(state["log_epoch"] if rows else state["epoch"], state["born"])
    now = datetime.now(UTC)
    body = [task(row, now) for row in rows[:PAGE]]
    headers = [(b"x-changes-cursor", cursor)]
    if len(rows) <= PAGE:  # the whole result on its first page: the count, as the service
        headers.append((b"x-total-count", str(len(body)).encode()))
    return 200, dumps(body), headers


async def create(user_id, data) -> Answer:
    title = data.get("title", "").strip()
    if not 1 <= len(title) <= 200:
        return error(422, "invalid title")
    now = datetime.now(UTC)
    # A position that sorts by creation time, as the service's (core/positions.py) does.
    position = f"i{int(now.timestamp() * 1_000_000):015d}{secrets.token_hex(2)}"
    new = {
        "id": 0,
        "user_id": user_id,
        "list_id": None,
        "parent_id": None,
        "position": position,
        "title": title,
        "description": data.get("description"),
        "completed": False,
        "created_at": now,
        "updated_at": now,
        "completed_at": None,
        "priority": "none",
        "due_date": None,
        "due_at": None,
        "tags": [],
        "recurrence": None,
        "recurrence_interval": 1,
        "next_occurrence_id": None,
        "version": 1,
        "reminders": [],
        "subtask_count": 0,
        "completed_subtask_count": 0,
        "created_by": user_id,
        "completed_by": None,
        "overdue": False,
    }
    tail = dumps(new).decode()[len('{"id":0') :]
    row = await pool.fetchrow(CREATE_SQL, user_id, title, new["description"], now, position, tail)
    # The answer is the JSON the creation logged, as the service's is.
    return 201, f'{{"id":{row["id"]}{tail}'.encode(), [etag(row)]


async def toggle(user_id, task_id) -> Answer:
    now = datetime.now(UTC)
    async with pool.acquire() as connection, connection.transaction():
        row = await connection.fetchrow(TOGGLE_SQL, task_id, user_id, now)
        if row is None:
            return error(404, "Task not found")
        shown = task(row, now)
        await connection.execute(LOG_SQL, user_id, task_id, dumps(shown).decode(), now)
    return 200, dumps(shown), [etag(row)]


def etag(row) -> tuple[bytes, bytes]:
    """The service's ETag: the task's version and creation time."""
    created = round(row["created_at"].timestamp() * 1_000_000)
    return (b"etag", f'"{row["version"]}-{created:x}"'.encode())


def task(row, now: datetime) -> dict:
    """A row as the service shows it: priority by name, JSON columns parsed, `overdue`."""
    shown = dict(zip(COLUMN_NAMES, row.values(), strict=False))
    shown["priority"] = PRIORITIES[shown["priority"]]
    shown["tags"] = orjson.loads(shown["tags"])
    shown["reminders"] = orjson.loads(shown["reminders"])
    due_at, due_date = shown["due_at"], shown["due_date"]
    shown["overdue"] = not shown["completed"] and (
        due_at < now if due_at is not None else due_date is not None and due_date < now.date()
    )
    return shown


COLUMN_NAMES = [name.strip() for name in COLUMNS.split(",")]


def changes_cursor(log_epoch: int, born: datetime | None) -> bytes:
    """The service's `X-Changes-Cursor` for a position its horizon holds in memory."""
    seed = f"{log_epoch}:{born.isoformat() if born is not None else ''}".encode()
    user_epoch = int.from_bytes(hashlib.blake2b(seed, digest_size=4).digest()) or 1
    return base64.urlsafe_b64encode(CURSOR.pack(user_epoch, 0)).rstrip(b"=")


def dumps(payload) -> bytes:
    return orjson.dumps(payload, option=orjson.OPT_UTC_Z)


async def read_body(receive) -> bytes:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body


async def keep_session(connection):
    # Nothing changes session state here: skip the per-release RESET round trip (as the service).
    pass


def error(status: int, detail: str) -> Answer:
    return status, dumps({"detail": detail}), []


async def send_answer(send, answer: Answer) -> None:
    status, body, headers = answer
    start = {"type": "http.response.start", "status": status}
    start["headers"] = [
        *HEADERS,
        request_id(),
        *headers,
        (b"content-length", str(len(body)).encode()),
    ]
    await send(start)
    await send({"type": "http.response.body", "body": body})


def request_id() -> tuple[bytes, bytes]:
    return (b"x-request-id", secrets.token_hex(8).encode())

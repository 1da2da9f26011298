"""The ceiling: the list and create work of todo-api with no framework at all.

A bare ASGI callable: PyJWT verification, one asyncpg query, orjson. Whatever the service
spends on top of this is the price of FastAPI, SQLAlchemy, validation and our own code.
Run it with `uvicorn bench.ceiling:app` and DATABASE_URL / BETTER_AUTH_SECRET set.
"""

import os
import secrets
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
    "recurrence_interval, next_occurrence_id, version, subtask_count, completed_subtask_count"
)
# One row past the page, as the service reads, to know whether there is a next page.
LIST_SQL = f"SELECT {COLUMNS} FROM task WHERE user_id = $1 ORDER BY id LIMIT $2"
CREATE_SQL = (
    "INSERT INTO task (user_id, title, description, completed, created_at, updated_at, "
    "priority, tags, recurrence_interval, version, position) "
    "VALUES ($1, $2, $3, false, $4, $4, 0, '[]', 1, 1, $5) "
    f"RETURNING {COLUMNS}"
)
PRIORITIES = ("none", "low", "medium", "high")
JSON = [(b"content-type", b"application/json")]
pool: asyncpg.Pool | None = None


async def app(scope, receive, send):
    global pool
    if scope["type"] == "lifespan":
        while (message := await receive())["type"] != "lifespan.shutdown":
            pool = await asyncpg.create_pool(
                DATABASE_URL, min_size=10, max_size=20, reset=keep_session
            )
            await send({"type": "lifespan.startup.complete"})
        await pool.close()
        await send({"type": "lifespan.shutdown.complete"})
        return

    parts = scope["path"].strip("/").split("/")
    if len(parts) != 3 or parts[0] != "api" or parts[2] != "tasks":
        return await respond(send, 404, {"detail": "Not Found"})
    authorization = dict(scope["headers"]).get(b"authorization", b"").decode()
    try:
        claims = jwt.decode(authorization.removeprefix("Bearer "), SECRET, algorithms=["HS256"])
    except jwt.InvalidTokenError:
        return await respond(send, 401, {"detail": "Invalid token"})
    if claims["sub"] != parts[1]:
        return await respond(send, 403, {"detail": "Forbidden"})

    if scope["method"] == "GET":
        rows = await pool.fetch(LIST_SQL, parts[1], PAGE + 1)
        return await respond(send, 200, [task(row) for row in rows[:PAGE]])
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    data = orjson.loads(body)
    title = data.get("title", "").strip()
    if not 1 <= len(title) <= 200:
        return await respond(send, 422, {"detail": "invalid title"})
    now = datetime.now(UTC)
    # A position that sorts by creation time, as the service's (core/positions.py) does.
    position = f"i{int(now.timestamp() * 1_000_000):015d}{secrets.token_hex(2)}"
    row = await pool.fetchrow(CREATE_SQL, parts[1], title, data.get("description"), now, position)
    return await respond(send, 201, task(row))


def task(row) -> dict:
    """A row as the service shows it: priority by name, tags parsed, `overdue` derived."""
    shown = dict(row)
    shown["priority"] = PRIORITIES[shown["priority"]]
    shown["tags"] = orjson.loads(shown["tags"])
    now = datetime.now(UTC)
    due_at, due_date = shown["due_at"], shown["due_date"]
    shown["overdue"] = not shown["completed"] and (
        due_at < now if due_at is not None else due_date is not None and due_date < now.date()
    )
    return shown


async def keep_session(connection):
    # Nothing changes session state here: skip the per-release RESET round trip (as the service).
    pass


async def respond(send, status, payload):
    body = orjson.dumps(payload)
    await send({"type": "http.response.start", "status": status, "headers": JSON})
    await send({"type": "http.response.body", "body": body})

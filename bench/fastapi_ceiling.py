"""The ceiling's handlers served by FastAPI: what the framework itself costs.

The same list, create and toggle as `bench/ceiling.py` (its functions, its statements, its
bytes), routed by FastAPI as an application written the plain FastAPI way would be: the
caller checked by one dependency, the path's parameters typed, each handler answering with a
`Response` (no response model to validate). Against the bare ceiling it prices FastAPI
(`python -m bench.framework`); against it, the service's own code on top of FastAPI. Run it
with `uvicorn bench.fastapi_ceiling:app` and DATABASE_URL / BETTER_AUTH_SECRET set.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import orjson
from fastapi import Depends, FastAPI, HTTPException, Request, Response

from bench import ceiling


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    await ceiling.open_pool()
    yield
    await ceiling.pool.close()


app = FastAPI(lifespan=lifespan, telemetry={"tracing": False, "metrics": False, "logs": False})


def respond(answer: ceiling.Answer) -> Response:
    status, body, headers = answer
    response = Response(body, status)
    response.raw_headers.extend([*ceiling.HEADERS, ceiling.request_id(), *headers])
    return response


async def caller(request: Request, user_id: str) -> str:
    refused = ceiling.caller_refused(request.headers.get("authorization", "").encode(), user_id)
    if refused is not None:
        raise HTTPException(refused[0], orjson.loads(refused[1])["detail"])
    return user_id


Caller = Annotated[str, Depends(caller)]


@app.get("/api/{user_id}/tasks")
async def list_tasks(user_id: Caller) -> Response:
    return respond(await ceiling.list_page(user_id))


@app.post("/api/{user_id}/tasks")
async def create_task(user_id: Caller, request: Request) -> Response:
    return respond(await ceiling.create(user_id, orjson.loads(await request.body())))


@app.patch("/api/{user_id}/tasks/{task_id}/complete")
async def toggle_task(user_id: Caller, task_id: int) -> Response:
    return respond(await ceiling.toggle(user_id, task_id))

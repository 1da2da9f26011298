"""Round trips to the database per request, and what a database 1 ms away does to throughput.

Starts the real service (`todo-api serve`, one worker) on a PostgreSQL database of its own,
reached through `proxy.DelayingProxy` (its LISTEN connection goes straight to PostgreSQL:
`DATABASE_DIRECT_URL`), then:

- sends each kind of request alone (the background work the one before set going done) and
  counts what the service sent the database: statements, BEGINs and COMMITs (each a round
  trip) while its client waited for the answer (its path), and in all, the work its background
  loops do for it afterwards included (what they do when idle is measured first and taken off);
- with the proxy delaying every chunk by 1 ms each way (Neon from the same region), measures the
  list (50 tasks) and create with wrk, 32 connections, for the service and for the ceiling
  (`bench/ceiling.py`, through a proxy of its own), in alternating rounds.

`uv run python -m bench.roundtrips [--quick]`, or as part of `python -m bench`.
"""

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import httpx2 as httpx
from sqlalchemy.engine import make_url

from bench.harness import (
    CEILING,
    CREATE_BODY,
    SECRET,
    SERVICE_ENV,
    TODO_API,
    Server,
    drop_database,
    recreate_database,
    seed_tasks,
)
from bench.proxy import DelayingProxy
from bench.wrk import Result, ensure_wrk, median_of, run_wrk
from todo_api.accounts import issue_token

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/todo_bench_roundtrips"
# Round trips a request may take: one for reads and a create, two for the other writes.
GOALS = {"create": 1, "list": 1, "get": 1, "PUT": 2, "PATCH": 2, "toggle": 2, "delete": 2}
DELAY_SECONDS = 0.001
REQUESTS = 40
# Longer than the background loops' wake windows and their work.
SETTLE_SECONDS = 0.15


@dataclass
class Latency:
    """Service and ceiling behind a 1 ms proxy: one endpoint's medians and their ratio."""

    name: str
    service: Result
    ceiling: Result
    ratio: float


@dataclass
class Trips:
    """Round trips per request: all that it sets going (`total`: the statements, BEGINs and
    COMMITs it sends, and what background loops do for it afterwards, such as the change
    horizon's rounds and their NOTIFY), and those on its path (`path`: sent while its client
    waited for the answer)."""

    total: float
    path: float


def _count(proxy: DelayingProxy, send: Callable[[], object], requests: int) -> Trips:
    """Round trips per request of `send()`, sent `requests` times, each alone: a write wakes
    background loops (the change horizon, the webhook and reminder dispatchers), which would
    otherwise send their round trips while the next request waits, and be counted as its own."""
    idle_started, idle_before = time.monotonic(), proxy.sent
    time.sleep(1.0)
    idle_rate = (proxy.sent - idle_before) / (time.monotonic() - idle_started)
    for _ in range(5):  # warm: each pooled connection prepares its statements once
        send()
        time.sleep(SETTLE_SECONDS)
    started, before = time.monotonic(), proxy.sent
    on_path = []
    for _ in range(requests):
        sent_before = proxy.sent
        send()
        on_path.append(proxy.sent - sent_before)
        time.sleep(SETTLE_SECONDS)
    time.sleep(0.5)  # the background work the last one set going
    elapsed = time.monotonic() - started
    total = (proxy.sent - before - idle_rate * elapsed) / requests
    # The median: now and then a background loop's idle work falls while a request waits.
    return Trips(max(0.0, total), statistics.median(on_path))


def _requests(rt: httpx.Client, small: httpx.Client, ids: list[int]) -> dict[str, Callable]:
    """Each kind of request: `rt`'s writes and reads (deletes of `ids`), `small`'s listing."""
    one, doomed = ids[0], iter(ids[1:])
    return {
        "create": lambda: rt.post("/api/rt/tasks", content=CREATE_BODY).raise_for_status(),
        "list": lambda: small.get("/api/small/tasks").raise_for_status(),
        "get": lambda: rt.get(f"/api/rt/tasks/{one}").raise_for_status(),
        "PUT": lambda: rt.put(f"/api/rt/tasks/{one}", json={"title": "Put"}).raise_for_status(),
        "PATCH": lambda: rt.patch(f"/api/rt/tasks/{one}", json={"title": "P"}).raise_for_status(),
        "toggle": lambda: rt.patch(f"/api/rt/tasks/{one}/complete").raise_for_status(),
        "delete": lambda: rt.delete(f"/api/rt/tasks/{next(doomed)}").raise_for_status(),
    }


def _measure(base: str, token: dict[str, str], proxy: DelayingProxy, ids: list[int]) -> dict:
    """`_count` of each kind of request, on the service at `base` behind `proxy`."""
    with _client(base, token["rt"]) as rt, _client(base, token["small"]) as small:
        requests = _requests(rt, small, ids)
        return {name: _count(proxy, send, REQUESTS) for name, send in requests.items()}


def _client(base: str, token: str) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    return httpx.Client(base_url=base, headers=headers, timeout=30)


def run(
    database_url: str = DEFAULT_URL, *, quick: bool = False
) -> tuple[dict[str, Trips], list[Latency]]:
    """Measure against fresh servers on `database_url`."""
    asyncio.run(recreate_database(database_url))
    url = make_url(database_url).render_as_string(hide_password=False)
    target = (make_url(url).host or "127.0.0.1", make_url(url).port or 5432)
    counting = DelayingProxy(target).start()
    delayed = DelayingProxy(target, DELAY_SECONDS).start()
    ceiling_proxy = DelayingProxy(target, DELAY_SECONDS).start()
    env = os.environ | SERVICE_ENV | {"DATABASE_DIRECT_URL": url, "LOG_LEVEL": "WARNING"}
    servers: list[Server] = []
    try:
        servers.append(
            Server(
                "service",
                [TODO_API, "serve", "--port", "{port}"],
                env | {"DATABASE_URL": counting.url(url)},
            )
        )
        first, last = asyncio.run(seed_tasks(url, "rt", 1 + 5 + REQUESTS))
        ids = list(range(first, last + 1))
        asyncio.run(seed_tasks(url, "small", 50))
        asyncio.run(seed_tasks(url, "writer", 1))
        token = {
            u: issue_token(SECRET, subject=u, expires_in=timedelta(hours=2))
            for u in ("rt", "small", "writer")
        }
        counts = _measure(servers[0].base, token, counting, ids)
        servers.pop().stop()
        service = Server(
            "service",
            [TODO_API, "serve", "--port", "{port}"],
            env | {"DATABASE_URL": delayed.url(url)},
        )
        servers.append(service)
        ceiling = Server("ceiling", CEILING, env | {"DATABASE_URL": ceiling_proxy.url(url)})
        servers.append(ceiling)
        wrk = ensure_wrk()
        load = {"duration": 3 if quick else 10, "connections": 32}
        requests = {
            "list (50 tasks)": {
                "method": "GET",
                "path": "/api/small/tasks",
                "token": token["small"],
            },
            "create": {
                "method": "POST",
                "path": "/api/writer/tasks",
                "token": token["writer"],
                "body": CREATE_BODY,
            },
        }
        latencies = []
        for name, request in requests.items():
            pairs = []
            for number in range(1 if quick else 3):
                order = [service, ceiling] if number % 2 == 0 else [ceiling, service]
                measured = {s.name: run_wrk(wrk, s.base, **request, **load) for s in order}
                pairs.append((measured["service"], measured["ceiling"]))
            ratio = statistics.median(
                m.requests_per_second / c.requests_per_second for m, c in pairs
            )
            latencies.append(
                Latency(
                    name, median_of([m for m, _ in pairs]), median_of([c for _, c in pairs]), ratio
                )
            )
    finally:
        for server in servers:
            server.stop()
        for proxy in (counting, delayed, ceiling_proxy):
            proxy.stop()
        asyncio.run(drop_database(database_url))
    return counts, latencies


def report(counts: dict[str, Trips], latencies: list[Latency]) -> bool:
    """Print the rows; whether every request kept to its round trips."""
    print("| request | round trips on its path | goal | met | all it sets going |")
    print("|---|---:|---:|:-:|---:|")
    met = True
    for name, goal in GOALS.items():
        trips = counts[name]
        ok = trips.path <= goal
        met &= ok
        print(
            f"| {name} | {trips.path:.2f} | ≤ {goal} | {'yes' if ok else 'NO'} "
            f"| {trips.total:.2f} |"
        )
    print()
    print(
        "| database 1 ms away (each way), wrk 32 connections | service req/s | p50 ms | p99 ms "
        "| ceiling req/s | p50 ms | p99 ms | req/s ratio |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for row in latencies:
        print(
            f"| {row.name} | {row.service.requests_per_second:,.0f} | {row.service.p50_ms:.2f} "
            f"| {row.service.p99_ms:.2f} | {row.ceiling.requests_per_second:,.0f} "
            f"| {row.ceiling.p50_ms:.2f} | {row.ceiling.p99_ms:.2f} | {row.ratio:.2f}× |"
        )
    print(
        json.dumps(
            {"round trips": {n: vars(t) for n, t in counts.items()}, "latency": latencies},
            default=vars,
        ),
        file=sys.stderr,
    )
    return met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short rounds (CI smoke)")
    parser.add_argument("--database-url", default=DEFAULT_URL)
    args = parser.parse_args()
    report(*run(args.database_url, quick=args.quick))


if __name__ == "__main__":
    main()

"""What FastAPI costs, and what the service costs on top of it: `uv run python -m bench.framework`.

Serves the bare ceiling (`bench/ceiling.py`), the same handlers routed by FastAPI
(`bench/fastapi_ceiling.py`) and the service, one worker each, on one fresh PostgreSQL database,
checks that the three answer alike (`bench/equal_work.py`), and loads list (50 tasks), create
and toggle on each with wrk, in rounds whose order rotates. Each ratio is the median of the
rounds' ratios of requests per second: FastAPI's ceiling ÷ the bare one is the price of the
framework alone; the service ÷ FastAPI's ceiling is the price of the service's own code
(validation, its middleware, the access log, its dependencies) on top of it.
"""

import argparse
import asyncio
import statistics
import sys
from datetime import timedelta

from bench import equal_work
from bench.harness import (
    CEILING,
    CREATE_BODY,
    SECRET,
    TODO_API,
    Server,
    migrated_database,
    seed_tasks,
)
from bench.wrk import ensure_wrk, run_wrk
from todo_api.accounts import issue_token

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/todo_bench_framework"
FASTAPI_CEILING = [
    part.replace("bench.ceiling:app", "bench.fastapi_ceiling:app") for part in CEILING
]
# Each ratio: (name, numerator, denominator) among the three servers.
RATIOS = (
    ("FastAPI ceiling ÷ bare ceiling", "fastapi", "bare"),
    ("service ÷ FastAPI ceiling", "service", "fastapi"),
    ("service ÷ bare ceiling", "service", "bare"),
)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.framework", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short rounds (CI smoke)")
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--duration", type=int, default=8)
    args = parser.parse_args()
    rounds, duration = (1, 2) if args.quick else (args.rounds, args.duration)
    url = args.database_url
    wrk = ensure_wrk()
    env = migrated_database(url)
    token = {
        user: issue_token(SECRET, subject=user, expires_in=timedelta(hours=1))
        for user in ("small", "writer", "editor")
    }
    asyncio.run(seed_tasks(url, "small", 50))
    editable = asyncio.run(seed_tasks(url, "editor", 10_000 if args.quick else 100_000))
    requests = {
        "list (50 tasks)": {"method": "GET", "path": "/api/small/tasks", "token": token["small"]},
        "create": {
            "method": "POST",
            "path": "/api/writer/tasks",
            "token": token["writer"],
            "body": CREATE_BODY,
        },
        "toggle": {
            "method": "PATCH",
            "path": "/api/editor/tasks/ID/complete",
            "token": token["editor"],
            "ids": editable,
        },
    }
    servers = {
        "service": Server("service", [TODO_API, "serve", "--port", "{port}"], env),
        "fastapi": Server("fastapi-ceiling", FASTAPI_CEILING, env),
        "bare": Server("ceiling", CEILING, env),
    }
    try:
        for name in ("fastapi", "bare"):
            equal_work.check(servers["service"].base, servers[name].base, requests)
        print(table(wrk, servers, requests, rounds, {"duration": duration, "connections": 32}))
    finally:
        for server in servers.values():
            server.stop()


def table(
    wrk: str, servers: dict[str, Server], requests: dict[str, dict], rounds: int, load: dict
) -> str:
    """The ratios of each request, as a Markdown table; exits on any error response."""
    lines = [
        "| request | " + " | ".join(name for name, _, _ in RATIOS) + " |",
        "|---|" + "---:|" * len(RATIOS),
    ]
    order = list(servers)
    for label, request in requests.items():
        ratios: dict[str, list[float]] = {name: [] for name, _, _ in RATIOS}
        for number in range(rounds):
            turn = order[number % len(order) :] + order[: number % len(order)]
            measured = {name: run_wrk(wrk, servers[name].base, **request, **load) for name in turn}
            if any(result.errors for result in measured.values()):
                sys.exit(f"{label}: error responses")
            for name, mine, theirs in RATIOS:
                ratio = measured[mine].requests_per_second / measured[theirs].requests_per_second
                ratios[name].append(ratio)
        medians = (statistics.median(values) for values in ratios.values())
        lines.append(f"| {label} | " + " | ".join(f"{m:.2f}×" for m in medians) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()

"""The service on uvicorn and on Granian, one and two workers each: `python -m bench.servers`.

`todo-api serve` runs uvicorn; `bench/granian_serve.py` runs the same app on Granian with what
of `serve`'s settings Granian can take. All four services run side by side on one fresh
PostgreSQL database and are loaded by wrk in turn, endpoint by endpoint, in rounds whose order
alternates; each figure is the median of its rounds, each ratio the median of the rounds'
ratios (figures from one run only: absolute numbers on a shared machine are noise). wrk runs on
the same machine, so two workers share the cores with it: the scaling says what a second worker
buys here, not on a machine of its own.

Six worker processes with 20 connections each would pass PostgreSQL's default 100, so pools
here close a connection idle for a second, and each measurement starts once the one before has
let its connections go: only the service under load holds any.
"""

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy.engine import make_url

from bench.harness import (
    CREATE_BODY,
    DEFAULT_URL,
    SECRET,
    TODO_API,
    Server,
    migrated_database,
    seed_tasks,
)
from bench.wrk import Result, ensure_wrk, median_of, run_wrk
from todo_api.accounts import issue_token

# How each server runs the service, `{workers}` worker processes.
COMMANDS = {
    "uvicorn": [TODO_API, "serve", "--port", "{port}", "--workers", "{workers}"],
    "granian": [
        *(sys.executable, "-m", "bench.granian_serve"),
        *("--port", "{port}", "--workers", "{workers}"),
    ],
}


def command(server: str, workers: int) -> list[str]:
    """The command line of `server` with `workers` workers (`{port}` left for Server)."""
    return [part.replace("{workers}", str(workers)) for part in COMMANDS[server]]


@dataclass(frozen=True)
class Config:
    server: str
    workers: int

    @property
    def name(self) -> str:
        return f"{self.server}, {self.workers} worker{'s' if self.workers > 1 else ''}"


ENDPOINTS = ("list", "create", "toggle")
# Longer than DB_POOL_MAX_IDLE_SECONDS: the last service's connections are closed by then.
IDLE_RELEASE_SECONDS = 1.5


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.servers", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="3 s rounds, 2 of them")
    parser.add_argument(
        "--database-url",
        default=make_url(os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
        .set(database="todo_bench_servers")
        .render_as_string(hide_password=False),
    )
    parser.add_argument("--duration", type=int, help="seconds per measurement")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, help="rounds over the four services")
    parser.add_argument("--workers", default="1,2", help="worker counts, comma-separated")
    args = parser.parse_args()
    duration = args.duration or (3 if args.quick else 10)
    rounds = args.rounds or (2 if args.quick else 3)
    worker_counts = [int(n) for n in args.workers.split(",")]
    configs = [Config(server, n) for n in worker_counts for server in COMMANDS]
    url = args.database_url

    wrk = ensure_wrk()
    env = migrated_database(url, DB_POOL_MAX_IDLE_SECONDS="1")
    token_for = {
        user: issue_token(SECRET, subject=user, expires_in=timedelta(hours=2))
        for user in ("small", "writer", "editor")
    }
    asyncio.run(seed_tasks(url, "small", 50))
    # A task of its own for every toggle of a run, at two workers' pace.
    editable = asyncio.run(seed_tasks(url, "editor", max(20_000, 6_000 * duration)))
    requests: dict[str, dict[str, object]] = {
        "list": {"method": "GET", "path": "/api/small/tasks", "token": token_for["small"]},
        "create": {
            "method": "POST",
            "path": "/api/writer/tasks",
            "token": token_for["writer"],
            "body": CREATE_BODY,
        },
        "toggle": {
            "method": "PATCH",
            "path": "/api/editor/tasks/ID/complete",
            "token": token_for["editor"],
            "ids": editable,
        },
    }
    load = {"duration": duration, "connections": args.connections}
    servers: dict[Config, Server] = {}
    results: dict[tuple[str, Config], list[Result]] = {}
    cpu_ms: dict[tuple[str, Config], list[float]] = {}
    try:
        for config in configs:
            servers[config] = Server(
                f"{config.server}-{config.workers}", command(config.server, config.workers), env
            )
        for server in servers.values():  # warm each up the same way
            run_wrk(wrk, server.base, **requests["list"], duration=1, connections=32)  # type: ignore[arg-type]
        for endpoint in ENDPOINTS:
            print(f"measuring {endpoint}…", file=sys.stderr)
            for round_number in range(rounds):
                # Alternate the order, so that a drift in the machine's speed cancels out.
                order = configs if round_number % 2 == 0 else configs[::-1]
                for config in order:
                    time.sleep(IDLE_RELEASE_SECONDS)
                    pid = servers[config].process.pid
                    before = cpu_seconds(pid)
                    measured = run_wrk(wrk, servers[config].base, **requests[endpoint], **load)  # type: ignore[arg-type]
                    served = measured.requests_per_second * duration
                    cpu_ms.setdefault((endpoint, config), []).append(
                        (cpu_seconds(pid) - before) * 1000 / served
                    )
                    results.setdefault((endpoint, config), []).append(measured)
    finally:
        for server in servers.values():
            server.stop()
    report(results, cpu_ms, configs, worker_counts, args.connections, duration, rounds)
    if any(r.errors for runs in results.values() for r in runs):
        sys.exit(1)


def cpu_seconds(pid: int) -> float:
    """CPU time (user and system) the process and its children have used so far: Granian's
    workers are children, uvicorn's single worker is the process itself."""
    total = 0
    for process in [pid, *descendants(pid)]:
        with contextlib.suppress(FileNotFoundError):
            fields = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime and stime, in clock ticks
    return total / os.sysconf("SC_CLK_TCK")


def descendants(pid: int) -> list[int]:
    """The ids of a process's children, theirs, and so on."""
    try:
        children = [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []
    return children + [grandchild for child in children for grandchild in descendants(child)]


def _ratio(runs_a: list[Result], runs_b: list[Result]) -> float:
    """Median over the rounds of a's req/s ÷ b's (each round's pair ran in the same round)."""
    return statistics.median(
        a.requests_per_second / b.requests_per_second for a, b in zip(runs_a, runs_b, strict=True)
    )


def report(
    results: dict[tuple[str, Config], list[Result]],
    cpu_ms: dict[tuple[str, Config], list[float]],
    configs: list[Config],
    worker_counts: list[int],
    connections: int,
    duration: int,
    rounds: int,
) -> None:
    print()
    print(
        f"wrk, {connections} connections, {duration} s each, medians of {rounds} rounds in "
        "alternating order; PostgreSQL; wrk on the same machine"
    )
    print()
    print(
        "| server | list req/s | list p99 ms | create req/s | create p99 ms | toggle req/s "
        "| toggle p99 ms | errors |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for config in configs:
        medians = {endpoint: median_of(results[(endpoint, config)]) for endpoint in ENDPOINTS}
        cells = " | ".join(
            f"{medians[e].requests_per_second:,.0f} | {medians[e].p99_ms:.2f}" for e in ENDPOINTS
        )
        errors = sum(m.errors for m in medians.values())
        print(f"| {config.name} | {cells} | {errors} |")
    print()
    # The CPU a request took the server, whoever else used the machine: steadier than req/s.
    print("| server CPU per request, ms (median of rounds) | list | create | toggle |")
    print("|---|---:|---:|---:|")
    for config in configs:
        cells = " | ".join(f"{statistics.median(cpu_ms[(e, config)]):.3f}" for e in ENDPOINTS)
        print(f"| {config.name} | {cells} |")
    print()
    print("| req/s ratio | list | create | toggle |")
    print("|---|---:|---:|---:|")
    for n in worker_counts:
        cells = " | ".join(
            f"{_ratio(results[(e, Config('granian', n))], results[(e, Config('uvicorn', n))]):.2f}×"
            for e in ENDPOINTS
        )
        print(f"| granian ÷ uvicorn, {n} worker{'s' if n > 1 else ''} | {cells} |")
    low, high = min(worker_counts), max(worker_counts)
    if low != high:
        for server in COMMANDS:
            more, fewer = Config(server, high), Config(server, low)
            cells = " | ".join(
                f"{_ratio(results[(e, more)], results[(e, fewer)]):.2f}×" for e in ENDPOINTS
            )
            print(f"| {server}, {high} workers ÷ {low} | {cells} |")


if __name__ == "__main__":
    main()

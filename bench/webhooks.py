"""Webhook fairness: another user's delivery time while one user's receivers are slow.

Starts the real service (`todo-api serve`, one worker) on a PostgreSQL database of its own and
a receiver in this process that checks every signature (`bench/receiver.py`). A user writes a
task every 0.2 s to one webhook of theirs, first alone, then while another user's ten webhooks
(the most one user may have) point at receivers that answer only after the attempt's timeout,
with a thousand deliveries queued for them and more coming. Each delivery's time is from just
before its create was sent to its request reaching the receiver.
`uv run python -m bench.webhooks [--quick]`, or as part of `python -m bench`.
"""

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass

import httpx2 as httpx
from sqlalchemy.engine import make_url

from bench.harness import SECRET, TODO_API, Server, drop_database, recreate_database
from bench.receiver import Receiver, add_webhook, percentile
from todo_api.accounts import issue_token

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/todo_bench_webhooks"
TARGET_P99_MS = 1000.0
SLOW_WEBHOOKS = 10
WRITE_EVERY_SECONDS = 0.2
BACKLOG = 100


@dataclass
class Deliveries:
    """One user's delivery times, in one phase."""

    sent: int
    delivered: int
    p50_ms: float
    p99_ms: float


@dataclass
class Fairness:
    """What one run measured."""

    alone: Deliveries
    beside_slow: Deliveries
    slow_timeout_seconds: float
    slow_queued: int


def _headers(user_id: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(SECRET, subject=user_id)}"}


async def _deliveries(
    client: httpx.AsyncClient, base: str, receiver: Receiver, name: str, window: float
) -> Deliveries:
    """Write a task of `name`'s user every WRITE_EVERY_SECONDS for `window` seconds; the time
    each one's webhook request took to arrive."""
    sent_at: dict[int, float] = {}
    deadline = time.time() + window
    while time.time() < deadline:
        started = time.time()
        response = await client.post(
            f"{base}/api/{name}/tasks", json={"title": "watched"}, headers=_headers(name)
        )
        response.raise_for_status()
        sent_at[response.json()["id"]] = started
        await asyncio.sleep(max(0.0, started + WRITE_EVERY_SECONDS - time.time()))
    arrived = await receiver.wait_for(name, len(sent_at), 15)
    took = [(arrived[task] - sent) * 1000 for task, sent in sent_at.items() if task in arrived]
    nan = float("nan")
    return Deliveries(
        len(sent_at),
        len(took),
        statistics.median(took) if took else nan,
        percentile(took, 0.99) if took else nan,
    )


async def _measure(base: str, receiver: Receiver, window: float, slow: float) -> Fairness:
    async with httpx.AsyncClient(timeout=60) as client:
        await add_webhook(
            client, receiver, base, "alone", _headers("alone"), "alone", ["task.created"]
        )
        alone = await _deliveries(client, base, receiver, "alone", window)

        for number in range(SLOW_WEBHOOKS):
            await add_webhook(
                client, receiver, base, "slow", _headers("slow"), f"slow-{number}",
                ["task.created"], delay=slow + 1,
            )  # fmt: skip
        slow_tasks = f"{base}/api/slow/tasks"

        async def slow_write() -> None:
            response = await client.post(slow_tasks, json={"title": "x"}, headers=_headers("slow"))
            response.raise_for_status()

        for _ in range(BACKLOG // 10):
            await asyncio.gather(*(slow_write() for _ in range(10)))
        await add_webhook(
            client, receiver, base, "beside", _headers("beside"), "beside", ["task.created"]
        )

        async def keep_writing() -> None:
            while True:
                await slow_write()
                await asyncio.sleep(1)

        writer = asyncio.create_task(keep_writing())
        try:
            beside_slow = await _deliveries(client, base, receiver, "beside", window)
        finally:
            writer.cancel()
    return Fairness(alone, beside_slow, slow, BACKLOG * SLOW_WEBHOOKS)


def run(database_url: str = DEFAULT_URL, *, quick: bool = False) -> Fairness:
    """Measure webhook fairness against a fresh service on `database_url`."""
    asyncio.run(recreate_database(database_url))
    receiver = Receiver()
    timeout = 2.0 if quick else 10.0
    env = os.environ | {
        "DATABASE_URL": make_url(database_url).render_as_string(hide_password=False),
        "BETTER_AUTH_SECRET": SECRET,
        "RATE_LIMIT_ENABLED": "false",
        "MAX_TASKS_PER_USER": "0",
        "WEBHOOK_ALLOW_PRIVATE": "true",
        "WEBHOOK_TIMEOUT_SECONDS": str(timeout),
        "LOG_LEVEL": "WARNING",
    }
    service = Server("service", [TODO_API, "serve", "--port", "{port}"], env)
    try:
        result = asyncio.run(_measure(service.base, receiver, 4.0 if quick else 20.0, timeout))
    finally:
        service.stop()
        receiver.stop()
        asyncio.run(drop_database(database_url))
    if receiver.invalid:
        sys.exit(f"{receiver.invalid} webhook requests failed signature verification")
    return result


def report(result: Fairness) -> bool:
    """Print the rows; whether the target was met (all delivered, p99 beside slow < 1 s)."""
    beside = result.beside_slow
    met = beside.delivered == beside.sent and beside.p99_ms < TARGET_P99_MS
    print(
        "| a user's webhook deliveries (create → receiver) | p50 | p99 | delivered | goal | met |"
    )
    print("|---|---:|---:|---:|---:|:-:|")
    phases = [
        ("alone", result.alone, ""),
        (
            f"while another user's {SLOW_WEBHOOKS} receivers each take the "
            f"{result.slow_timeout_seconds:.0f} s timeout ({result.slow_queued:,} queued)",
            beside,
            f"p99 < {TARGET_P99_MS:.0f} ms",
        ),
    ]
    for name, phase, goal in phases:
        verdict = ("yes" if met else "NO") if goal else ""
        print(
            f"| {name} | {phase.p50_ms:.0f} ms | {phase.p99_ms:.0f} ms "
            f"| {phase.delivered}/{phase.sent} | {goal} | {verdict} |"
        )
    ratio = beside.p99_ms / result.alone.p99_ms if result.alone.p99_ms else float("nan")
    print(f"\n- p99 beside the slow receivers / p99 alone: {ratio:.2f}×")
    print(json.dumps({"webhook_fairness": result.__dict__}, default=vars), file=sys.stderr)
    return met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a few seconds (CI smoke)")
    parser.add_argument("--database-url", default=DEFAULT_URL)
    args = parser.parse_args()
    result = run(args.database_url, quick=args.quick)
    report(result)
    if result.beside_slow.delivered != result.beside_slow.sent:
        sys.exit("some deliveries never arrived")


if __name__ == "__main__":
    main()

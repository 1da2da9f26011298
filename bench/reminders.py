"""Reminder lateness: from a reminder's `fire_at` to its webhook reaching the receiver.

Starts the real service (`todo-api serve`, one worker) on a PostgreSQL database of its own and
a webhook receiver in this process that verifies every signature. Reminders come due spread
over a window while clients keep writing tasks, and each one's lateness is when its webhook
request arrived minus its `fire_at`. `uv run python -m bench.reminders [--quick]`, or as part
of `python -m bench`.
"""

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx2 as httpx
from sqlalchemy.engine import make_url

from bench.harness import SECRET, TODO_API, Server, drop_database, recreate_database
from bench.receiver import Receiver, add_webhook, percentile
from todo_api.accounts import issue_token

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/todo_bench_reminders"
TARGET_P99_MS = 2000.0


@dataclass
class Lateness:
    """What one run measured."""

    reminders: int
    delivered: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    background_writes: int


async def _measure(base: str, receiver: Receiver, count: int, window: float) -> Lateness:
    headers = {"Authorization": f"Bearer {issue_token(SECRET, subject='bench-reminders')}"}
    tasks = f"{base}/api/bench-reminders/tasks"
    async with httpx.AsyncClient(timeout=30) as client:
        await add_webhook(
            client, receiver, base, "bench-reminders", headers, "reminders", ["reminder.due"]
        )
        start = datetime.now(UTC) + timedelta(seconds=3)
        fire_at: dict[int, float] = {}
        for number in range(count):
            moment = start + timedelta(seconds=window * number / count)
            body = {"title": f"Reminder {number}", "reminders": [{"at": moment.isoformat()}]}
            response = await client.post(tasks, json=body, headers=headers)
            response.raise_for_status()
            fire_at[response.json()["id"]] = moment.timestamp()
        # Normal load meanwhile: a few clients writing tasks without pause.
        writes = 0
        deadline = start.timestamp() + window + 5

        async def writer(number: int) -> None:
            nonlocal writes
            while time.time() < deadline:
                await client.post(tasks, json={"title": f"load {number}"}, headers=headers)
                writes += 1

        await asyncio.gather(*(writer(number) for number in range(4)))
    arrived = await receiver.wait_for("reminders", count, deadline + 10 - time.time())
    late = [
        (arrived[task_id] - due) * 1000 for task_id, due in fire_at.items() if task_id in arrived
    ]
    return Lateness(
        count,
        len(late),
        statistics.median(late) if late else float("nan"),
        percentile(late, 0.99) if late else float("nan"),
        max(late) if late else float("nan"),
        writes,
    )


def run(database_url: str = DEFAULT_URL, *, quick: bool = False) -> Lateness:
    """Measure reminder lateness against a fresh service on `database_url`."""
    asyncio.run(recreate_database(database_url))
    receiver = Receiver()
    env = os.environ | {
        "DATABASE_URL": make_url(database_url).render_as_string(hide_password=False),
        "BETTER_AUTH_SECRET": SECRET,
        "RATE_LIMIT_ENABLED": "false",
        "MAX_TASKS_PER_USER": "0",
        "WEBHOOK_ALLOW_PRIVATE": "true",
        "LOG_LEVEL": "WARNING",
    }
    service = Server("service", [TODO_API, "serve", "--port", "{port}"], env)
    try:
        count, window = (30, 3.0) if quick else (300, 20.0)
        result = asyncio.run(_measure(service.base, receiver, count, window))
    finally:
        service.stop()
        receiver.stop()
        asyncio.run(drop_database(database_url))  # the benchmark's own, like the main run's
    if receiver.invalid:
        sys.exit(f"{receiver.invalid} webhook requests failed signature verification")
    return result


def report(result: Lateness) -> bool:
    """Print the row; whether the target was met (every reminder delivered, p99 < 2 s)."""
    met = result.delivered == result.reminders and result.p99_ms < TARGET_P99_MS
    print("| reminder lateness (fire_at → webhook) | p50 | p99 | max | delivered | goal | met |")
    print("|---|---:|---:|---:|---:|---:|:-:|")
    print(
        f"| {result.reminders} reminders, {result.background_writes} writes meanwhile "
        f"| {result.p50_ms:.0f} ms | {result.p99_ms:.0f} ms | {result.max_ms:.0f} ms "
        f"| {result.delivered}/{result.reminders} | p99 < {TARGET_P99_MS:.0f} ms "
        f"| {'yes' if met else 'NO'} |"
    )
    print(json.dumps({"reminder_lateness": result.__dict__}), file=sys.stderr)
    return met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a few reminders (CI smoke)")
    parser.add_argument("--database-url", default=DEFAULT_URL)
    args = parser.parse_args()
    result = run(args.database_url, quick=args.quick)
    report(result)
    if result.delivered != result.reminders:
        sys.exit("some reminders were never delivered")


if __name__ == "__main__":
    main()

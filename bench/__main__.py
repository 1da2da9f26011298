"""The benchmark: `uv run python -m bench` (add `--quick` for a smoke run).

Starts the real service (`todo-api serve`, one worker) and the bare-ASGI ceiling
(`bench/ceiling.py`) on a fresh PostgreSQL database, loads each from wrk in a second process,
and prints one table of requests/s and latencies, side by side, from this one run.

Service and ceiling are measured in alternating rounds and each figure is the median of its
rounds: on a shared machine, a few seconds of somebody else's load then moves one round, not
the comparison.
"""

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta

import httpx2 as httpx
from sqlalchemy.engine import make_url

from bench import equal_work
from bench.harness import (
    CEILING,
    CREATE_BODY,
    DEFAULT_URL,
    ROOT,
    SECRET,
    TODO_API,
    Server,
    count_tasks,
    migrated_database,
    seed_filler,
    seed_tasks,
)
from bench.report import Row, Streaming, report
from bench.wrk import Result, ensure_wrk, median_of, run_wrk, run_wrk_many_users
from todo_api.accounts import issue_token

# --- MCP -------------------------------------------------------------------------------------

# What the official client sends for a tool call (2026-07-28, its default; stateless, one POST).
MCP_PROTOCOL = "2026-07-28"
MCP_META = (
    '"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",'
    '"io.modelcontextprotocol/clientInfo":{"name":"bench","version":"1"},'
    '"io.modelcontextprotocol/clientCapabilities":{}}'
)


def mcp_call(tool: str, arguments: str, token: str) -> dict[str, object]:
    """wrk's request for one `tools/call` of `tool` (arguments as JSON text) on /mcp."""
    body = (
        f'{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":'
        f'{{"name":"{tool}","arguments":{arguments},{MCP_META}}}}}'
    )
    headers = {
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": MCP_PROTOCOL,
        "Mcp-Method": "tools/call",
        "Mcp-Name": tool,
    }
    return {"method": "POST", "path": "/mcp", "token": token, "body": body, "headers": headers}


def check_mcp_call(base: str, request: dict[str, object]) -> None:
    """Fail the run unless the tool call succeeds (wrk only sees HTTP 200 either way)."""
    response = httpx.post(
        base + "/mcp",
        content=str(request["body"]),
        headers={"Authorization": f"Bearer {request['token']}", "Content-Type": "application/json"}
        | dict(request["headers"]),  # type: ignore[arg-type]
    )
    result = response.json().get("result", {})
    if response.status_code != 200 or result.get("isError") is not False:
        sys.exit(f"MCP tool call failed: {response.status_code} {response.text[:500]}")


# --- the run ----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="seconds, not minutes (CI smoke)")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--duration", type=int, help="seconds per measurement")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, help="alternating service/ceiling rounds")
    parser.add_argument("--streams", type=int, default=5000, help="open event streams")
    args = parser.parse_args()
    duration = args.duration or (2 if args.quick else 10)
    rounds = args.rounds or (1 if args.quick else 5)
    total_tasks = 20_000 if args.quick else 1_000_000
    big_user_tasks = 10_000 if args.quick else 100_000
    url = args.database_url

    wrk = ensure_wrk()
    env = migrated_database(url)

    token_for = {
        user: issue_token(SECRET, subject=user, expires_in=timedelta(hours=2))
        for user in ("small", "big", "writer", "editor", "deleter", "syncer", "streamer")
    }
    asyncio.run(seed_tasks(url, "small", 50))
    # Enough tasks that every delete (and every update) hits a task of its own.
    deletable = asyncio.run(seed_tasks(url, "deleter", 20_000 if args.quick else 120_000))
    # Each update and toggle writes a task of its own: a row every request writes would measure
    # its lock's queue, not the work.
    editable = asyncio.run(seed_tasks(url, "editor", 20_000 if args.quick else 120_000))

    load = {"duration": duration, "connections": args.connections}
    rows: list[Row] = []
    memory: dict[str, float] = {}
    ratios: dict[str, float] = {}

    service = Server("service", [TODO_API, "serve", "--port", "{port}"], env)
    # The same service with the change log off: what a create cost before it.
    unlogged = Server(
        "service-without-log",
        [TODO_API, "serve", "--port", "{port}"],
        env | {"CHANGES_ENABLED": "false"},
    )
    ceiling = Server("ceiling", CEILING, env)
    # The requests timed on both, and first checked to be answered alike.
    listing = {"method": "GET", "path": "/api/small/tasks", "token": token_for["small"]}
    creating = {
        "method": "POST",
        "path": "/api/writer/tasks",
        "token": token_for["writer"],
        "body": CREATE_BODY,
    }
    toggling = {
        "method": "PATCH",
        "path": "/api/editor/tasks/ID/complete",
        "token": token_for["editor"],
        "ids": editable,
    }
    try:
        memory["service idle RSS"] = service.rss_mb()
        memory["ceiling idle RSS"] = ceiling.rss_mb()
        equal_work.check(
            service.base, ceiling.base, {"list": listing, "create": creating, "toggle": toggling}
        )
        for server in (service, ceiling):  # warm both up the same way
            run_wrk(
                wrk,
                server.base,
                method="GET",
                path="/api/small/tasks",
                token=token_for["small"],
                duration=1,
                connections=args.connections,
            )

        def both(name: str, **request: object) -> None:
            pairs: list[tuple[Result, Result]] = []
            for round_number in range(rounds):
                # Alternate who goes first, so that a drift in the machine's speed cancels out.
                order = (service, ceiling) if round_number % 2 == 0 else (ceiling, service)
                measured = {
                    server.name: run_wrk(wrk, server.base, **request, **load) for server in order
                }
                pairs.append((measured["service"], measured["ceiling"]))
            mine, theirs = [m for m, _ in pairs], [c for _, c in pairs]
            rps_ratios = [m.requests_per_second / c.requests_per_second for m, c in pairs]
            p99_ratios = [m.p99_ms / c.p99_ms for m, c in pairs]
            rows.append(
                Row(
                    name,
                    median_of(mine),
                    median_of(theirs),
                    statistics.median(rps_ratios),
                    statistics.median(p99_ratios),
                )
            )

        def versus(name: str, tool: dict[str, object], rest: dict[str, object]) -> None:
            """A tool call against the REST request doing the same, on the same service, in
            alternating rounds; the ratios are the tool call's cost in REST requests."""
            check_mcp_call(service.base, tool)
            pairs: list[tuple[Result, Result]] = []
            for round_number in range(rounds):
                order = [("mcp", tool), ("rest", rest)]
                if round_number % 2:
                    order.reverse()
                measured = {
                    kind: run_wrk(wrk, service.base, **request, **load)  # type: ignore[arg-type]
                    for kind, request in order
                }
                pairs.append((measured["mcp"], measured["rest"]))
            rows.append(
                Row(
                    name,
                    median_of([m for m, _ in pairs]),
                    median_of([r for _, r in pairs]),
                    # How many REST requests' time one tool call takes, by throughput and p50.
                    rps_ratio=statistics.median(
                        r.requests_per_second / m.requests_per_second for m, r in pairs
                    ),
                    p50_ratio=statistics.median(m.p50_ms / r.p50_ms for m, r in pairs),
                    versus=True,
                )
            )

        def alone(name: str, **request: object) -> None:
            rows.append(Row(name, run_wrk(wrk, service.base, **request, **load)))

        both("list (50 tasks)", **listing)
        both("create (empty table)", **creating)
        versus(
            "MCP add_task vs REST create",
            mcp_call(
                "add_task",
                '{"title":"Benchmark task","description":"created by wrk"}',
                token_for["writer"],
            ),
            creating,
        )
        versus(
            "MCP list_tasks vs REST list (50 tasks)",
            mcp_call("list_tasks", "{}", token_for["small"]),
            listing,
        )
        # Log on / off: two services whose difference is smaller than a round's drift on a
        # shared machine, so never fewer than 9 rounds (bench/README.md has their spread).
        log_rounds = rounds if args.quick else max(rounds, 9)
        pairs: list[tuple[Result, Result]] = []
        for round_number in range(log_rounds):
            order = (service, unlogged) if round_number % 2 == 0 else (unlogged, service)
            measured = {
                server.name: run_wrk(
                    wrk,
                    server.base,
                    method="POST",
                    path="/api/writer/tasks",
                    token=token_for["writer"],
                    body=CREATE_BODY,
                    **load,
                )
                for server in order
            }
            pairs.append((measured["service"], measured["service-without-log"]))
        rows.append(Row("create, change log off", median_of([off for _, off in pairs])))
        ratios["create req/s, log on / off"] = statistics.median(
            on.requests_per_second / off.requests_per_second for on, off in pairs
        )
        # The same with the creates spread over 32 users, as a service's users write side by
        # side: each horizon round then covers many users' commits at once.
        many_tokens = {
            f"many{n}": issue_token(SECRET, subject=f"many{n}", expires_in=timedelta(hours=2))
            for n in range(32)
        }
        many_pairs: list[tuple[Result, Result]] = []
        for round_number in range(log_rounds):
            order = (service, unlogged) if round_number % 2 == 0 else (unlogged, service)
            measured = {
                server.name: run_wrk_many_users(
                    wrk, server.base, tokens=many_tokens, body=CREATE_BODY, **load
                )
                for server in order
            }
            many_pairs.append((measured["service"], measured["service-without-log"]))
        rows.append(Row("create, 32 users", median_of([on for on, _ in many_pairs])))
        rows.append(Row("create, 32 users, change log off", median_of([o for _, o in many_pairs])))
        ratios["create req/s, 32 users, log on / off"] = statistics.median(
            on.requests_per_second / off.requests_per_second for on, off in many_pairs
        )
        # Sync: a page of 100 changes against a page of 100 tasks, in alternating rounds.
        sync_client = httpx.Client(base_url=service.base, headers=bearer(token_for["syncer"]))
        for n in range(120):
            sync_client.post("/api/syncer/tasks", json={"title": f"Synced {n}"}).raise_for_status()
        sync_client.close()
        list_page, changes_page = [], []
        for round_number in range(rounds):
            requests = [
                (list_page, "/api/syncer/tasks?limit=100"),
                (changes_page, "/api/syncer/changes?limit=100"),
            ]
            for results, path in requests if round_number % 2 == 0 else requests[::-1]:
                results.append(
                    run_wrk(
                        wrk,
                        service.base,
                        method="GET",
                        path=path,
                        token=token_for["syncer"],
                        **load,
                    )
                )
        rows.append(Row("list (page of 100 tasks)", median_of(list_page)))
        rows.append(Row("changes (page of 100)", median_of(changes_page)))
        ratios["changes page cost / list page cost"] = statistics.median(
            t.requests_per_second / c.requests_per_second
            for t, c in zip(list_page, changes_page, strict=True)
        )
        alone(
            "get one",
            method="GET",
            path="/api/small/tasks/ID",
            token=token_for["small"],
            ids=(1, 1),
        )
        alone(
            "update",
            method="PUT",
            path="/api/editor/tasks/ID",
            token=token_for["editor"],
            body='{"title": "Renamed by wrk"}',
            ids=editable,
        )
        both("toggle", **toggling)
        alone(
            "delete",
            method="DELETE",
            path="/api/deleter/tasks/ID",
            token=token_for["deleter"],
            ids=deletable,
        )

        print(f"seeding to {total_tasks:,} tasks…", file=sys.stderr)
        asyncio.run(seed_tasks(url, "big", big_user_tasks))
        filler_users = 100
        missing = total_tasks - asyncio.run(count_tasks(url))
        if missing > 0:
            asyncio.run(seed_filler(url, filler_users, missing // filler_users))
        table_size = asyncio.run(count_tasks(url))
        alone(
            "list (50 tasks), full table",
            method="GET",
            path="/api/small/tasks",
            token=token_for["small"],
        )
        alone(
            f"list ({big_user_tasks:,} tasks, first page)",
            method="GET",
            path="/api/big/tasks",
            token=token_for["big"],
        )
        # The same page size as the 50-task user's whole list: what grows is the data, not the page.
        alone(
            f"list ({big_user_tasks:,} tasks, first 50)",
            method="GET",
            path="/api/big/tasks?limit=50",
            token=token_for["big"],
        )
        alone(
            "create (full table)",
            method="POST",
            path="/api/writer/tasks",
            token=token_for["writer"],
            body=CREATE_BODY,
        )
        memory["service RSS after load"] = service.rss_mb()
        unlogged.stop()
        ceiling.stop()
        streams = 500 if args.quick else args.streams
        streaming = measure_streams(service, token_for["streamer"], streams, 2 if args.quick else 5)
    finally:
        service.stop()
        unlogged.stop()
        ceiling.stop()

    errors = report(rows, memory, table_size, args, duration, rounds, ratios, streaming)
    # Issue 16: reminders are due on time, on a database of their own.
    from bench import reminders

    lateness_url = make_url(url).set(database="todo_bench_reminders")
    reminders.report(
        reminders.run(lateness_url.render_as_string(hide_password=False), quick=args.quick)
    )
    # Issue 26: one user's slow receivers delay nobody else's deliveries.
    from bench import webhooks

    fairness_url = make_url(url).set(database="todo_bench_webhooks")
    webhooks.report(
        webhooks.run(fairness_url.render_as_string(hide_password=False), quick=args.quick)
    )
    # Issue 27: a list's tasks in their order, and a move, on a user with 200 lists.
    from bench import lists

    lists_url = make_url(url).set(database="todo_bench_lists")
    lists.report(lists.run(lists_url.render_as_string(hide_password=False), quick=args.quick))
    # Issue 28: a member of 20 shared lists lists their tasks; one change reaches 50 members.
    from bench import sharing

    sharing_url = make_url(url).set(database="todo_bench_sharing")
    sharing.report(sharing.run(sharing_url.render_as_string(hide_password=False), quick=args.quick))
    # Issue 29: a CalDAV client's multiget and sync report, held to the REST reads.
    from bench import caldav

    caldav_url = make_url(url).set(database="todo_bench_caldav")
    caldav.report(caldav.run(caldav_url.render_as_string(hide_password=False), quick=args.quick))
    # Issue 30: round trips per request, and the database 1 ms away.
    from bench import roundtrips

    trips_url = make_url(url).set(database="todo_bench_roundtrips")
    roundtrips.report(
        *roundtrips.run(trips_url.render_as_string(hide_password=False), quick=args.quick)
    )
    # Timings never fail the run (this machine is noisy); error responses do, once every
    # table is out.
    if errors:
        sys.exit(1)


def time_streams(
    service: Server,
    client_args: list[str],
    write: Callable[[int], int],
    changes: int,
    opened: Callable[[], None] = lambda: None,
) -> list[float]:
    """Open event streams with `python -m bench.streams <client_args>`, call `opened()`, then
    make `changes` writes 2 s apart (`write(n)` makes the n-th, the id of the task it wrote);
    the latencies (ms), sorted, of each write reaching each stream.

    Each latency runs from just before the write is sent (its commit is a little later) to
    the moment the client process reads the event on one stream.
    """
    client = subprocess.Popen(
        [sys.executable, "-m", "bench.streams", service.base, *client_args],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert client.stdin is not None and client.stdout is not None
    if client.stdout.readline().strip() != "ready":
        sys.exit("the event-stream client could not open its streams")
    time.sleep(2)
    opened()
    sent: dict[int, float] = {}
    for n in range(changes):
        started = time.time()
        sent[write(n)] = started
        time.sleep(2)
    client.stdin.write("done\n")
    client.stdin.flush()
    arrivals = json.loads(client.stdout.readline())
    client.wait(timeout=60)
    return sorted(
        (arrived - sent[int(task_id)]) * 1000
        for task_id, times in arrivals.items()
        if int(task_id) in sent
        for arrived in times
    )


def measure_streams(service: Server, token: str, streams: int, changes: int) -> Streaming:
    """Open `streams` event streams of one user, then time `changes` creates reaching them all."""
    idle = service.rss_mb()
    rss: list[float] = []
    with httpx.Client(base_url=service.base, headers=bearer(token), timeout=30) as writer:

        def create(n: int) -> int:
            response = writer.post("/api/streamer/tasks", json={"title": f"Live {n}"})
            response.raise_for_status()
            return int(response.json()["id"])

        latencies = time_streams(
            service,
            [token, "streamer", str(streams)],
            create,
            changes,
            lambda: rss.append(service.rss_mb()),
        )
    if not latencies:
        sys.exit("no event reached the streams")
    return Streaming(
        streams,
        rss[0],
        idle,
        statistics.median(latencies),
        latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        latencies[-1],
        len(latencies),
        streams * changes,
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


if __name__ == "__main__":
    main()

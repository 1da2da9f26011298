"""Revisions of this repository side by side: `uv run python -m bench.revisions REV REV …`.

For a change that must not cost speed (a refactor, a dependency bump), the question is whether
one revision is slower than another on the same machine in the same minutes, which two runs of
the full benchmark on different days cannot answer. Each revision is checked out into a
worktree of its own with its locked dependencies, migrates a database of its own and serves it
(one worker, PostgreSQL); wrk then loads list (50 tasks, one user) and create (another user,
so the list stays 50 tasks) on each in turn, in an order that rotates every round.

The machine's speed drifts by more than a refactor's cost between minutes, so a revision is
compared with the first in the same round (its ratio that round), and the figure is the median
of those paired ratios; beside it, the server's CPU time per request (its process and children,
from /proc), which a slower or busier minute moves less than throughput. Committed revisions
only: the working tree's uncommitted changes are not in any of them.
"""

import argparse
import asyncio
import os
import statistics
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from bench.harness import (
    CREATE_BODY,
    ROOT,
    SECRET,
    SERVICE_ENV,
    Server,
    drop_database,
    recreate_database,
    seed_tasks,
)
from bench.wrk import ensure_wrk, run_wrk
from todo_api.accounts import issue_token

DATABASE = "postgresql://postgres@127.0.0.1:5432/todo_bench_rev{index}"
# What each revision is loaded with: (name, method, body, user) on /api/{user}/tasks.
_LOADS = (("list", "GET", "", "small"), ("create", "POST", CREATE_BODY, "writer"))


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of process `pid` and its live descendants."""
    ticks = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        process = int(stat.parent.name)
        parents[process] = int(fields[1])
        times[process] = (int(fields[11]) + int(fields[12])) / ticks
    tree, total = {pid}, 0.0
    for process in sorted(times):  # a child's pid may be lower than its parent's: walk up
        ancestor = process
        while ancestor not in tree and ancestor in parents and ancestor > 1:
            ancestor = parents[ancestor]
        if ancestor in tree:
            total += times[process]
    return total


def checkout(revision: str, into: Path) -> Path:
    """A worktree of `revision` with its locked dependencies installed; its `todo-api`."""
    subprocess.run(
        ["git", "worktree", "add", "--detach", str(into), revision],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    subprocess.run(["uv", "sync", "--locked", "--no-dev", "-q"], cwd=into, check=True)
    return into / ".venv" / "bin" / "todo-api"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.revisions", description=__doc__)
    parser.add_argument("revisions", nargs="+", help="commits, tags or branches")
    parser.add_argument("--duration", type=int, default=5, help="seconds per measurement")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    wrk = ensure_wrk()
    tokens = {
        user: issue_token(SECRET, subject=user, expires_in=timedelta(hours=2))
        for user in ("small", "writer")
    }
    load = {"duration": args.duration, "connections": args.connections}
    env = os.environ | SERVICE_ENV
    servers: dict[str, Server] = {}
    urls: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-revisions-") as workdir:
        try:
            for index, revision in enumerate(args.revisions):
                tree = Path(workdir) / str(index)
                todo_api = str(checkout(revision, tree))
                url = DATABASE.format(index=index)
                urls.append(url)
                asyncio.run(recreate_database(url))
                served = env | {"DATABASE_URL": url}
                migrate = [todo_api, "db", "upgrade"]
                subprocess.run(migrate, env=served, cwd=tree, check=True, capture_output=True)
                asyncio.run(seed_tasks(url, "small", 50))
                asyncio.run(seed_tasks(url, "writer", 0))
                command = [todo_api, "serve", "--port", "{port}"]
                servers[revision] = Server(f"rev-{index}", command, served, cwd=tree)
            rounds: list[dict[tuple[str, str], Figures]] = []
            for round_number in range(args.rounds):
                shift = round_number % len(args.revisions)
                order = args.revisions[shift:] + args.revisions[:shift]
                figures: dict[tuple[str, str], Figures] = {}
                for revision in order:
                    server = servers[revision]
                    for endpoint, method, body, user in _LOADS:
                        before = cpu_seconds(server.process.pid)
                        result = run_wrk(
                            wrk,
                            server.base,
                            method=method,
                            path=f"/api/{user}/tasks",
                            body=body,
                            token=tokens[user],
                            **load,
                        )
                        if result.errors:
                            raise SystemExit(f"{revision} answered {endpoint} with errors")
                        requests = result.requests_per_second * args.duration
                        cpu = (cpu_seconds(server.process.pid) - before) / requests * 1e6
                        figures[(revision, endpoint)] = Figures(result.requests_per_second, cpu)
                rounds.append(figures)
        finally:
            for server in servers.values():
                server.stop()
            for url in urls:
                asyncio.run(drop_database(url))
    # The worktrees' directories are gone: git forgets them.
    subprocess.run(["git", "worktree", "prune"], cwd=ROOT, check=False)
    report(args.revisions, rounds)


@dataclass
class Figures:
    """One revision's figures for one load in one round."""

    requests_per_second: float
    cpu_us_per_request: float


def report(revisions: list[str], rounds: list[dict[tuple[str, str], Figures]]) -> None:
    """Per revision and load: median req/s, the median of its per-round ratios to the first
    revision (the lowest and highest in brackets), and the same for CPU time per request."""
    first = revisions[0]
    print("\n| revision | load | req/s | vs first (range) | CPU µs/request | vs first (range) |")
    print("|---|---|---:|---:|---:|---:|")
    for revision in revisions:
        for endpoint, *_ in _LOADS:
            mine = [figures[(revision, endpoint)] for figures in rounds]
            theirs = [figures[(first, endpoint)] for figures in rounds]
            pairs = list(zip(mine, theirs, strict=True))
            speed = [a.requests_per_second / b.requests_per_second for a, b in pairs]
            cost = [a.cpu_us_per_request / b.cpu_us_per_request for a, b in pairs]
            print(
                f"| {revision} | {endpoint} "
                f"| {statistics.median(f.requests_per_second for f in mine):,.0f} "
                f"| {_ratio(speed)} "
                f"| {statistics.median(f.cpu_us_per_request for f in mine):,.0f} "
                f"| {_ratio(cost)} |"
            )


def _ratio(values: list[float]) -> str:
    return f"{statistics.median(values):.2f}× ({min(values):.2f}–{max(values):.2f})"


if __name__ == "__main__":
    main()

"""Revisions of this repository side by side: `uv run python -m bench.revisions REV REV …`.

For a change that must not cost speed (a refactor, a dependency bump), the question is whether
one revision is slower than another on the same machine in the same minutes, which two runs of
the full benchmark on different days cannot answer. Each revision is checked out into a
worktree of its own with its locked dependencies, migrates a database of its own and serves it
(one worker, PostgreSQL); wrk then loads list (50 tasks) and create on each in turn, in an order
that rotates every round, and each figure is the median of its rounds. Committed revisions
only: the working tree's uncommitted changes are not in any of them.
"""

import argparse
import asyncio
import os
import statistics
import subprocess
import tempfile
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
# What each revision is loaded with: (name, method, body) on /api/small/tasks.
_LOADS = (("list", "GET", ""), ("create", "POST", CREATE_BODY))


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
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    wrk = ensure_wrk()
    token = issue_token(SECRET, subject="small", expires_in=timedelta(hours=2))
    load = {"token": token, "duration": args.duration, "connections": args.connections}
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
                command = [todo_api, "serve", "--port", "{port}"]
                servers[revision] = Server(f"rev-{index}", command, served, cwd=tree)
            rates: dict[tuple[str, str], list[float]] = {}
            for round_number in range(args.rounds):
                shift = round_number % len(args.revisions)
                order = args.revisions[shift:] + args.revisions[:shift]
                for revision in order:
                    base = servers[revision].base
                    for endpoint, method, body in _LOADS:
                        result = run_wrk(
                            wrk, base, method=method, path="/api/small/tasks", body=body, **load
                        )
                        if result.errors:
                            raise SystemExit(f"{revision} answered {endpoint} with errors")
                        rates.setdefault((revision, endpoint), []).append(
                            result.requests_per_second
                        )
        finally:
            for server in servers.values():
                server.stop()
            for url in urls:
                asyncio.run(drop_database(url))
    # The worktrees' directories are gone: git forgets them.
    subprocess.run(["git", "worktree", "prune"], cwd=ROOT, check=False)
    report(args.revisions, {key: statistics.median(values) for key, values in rates.items()})


def report(revisions: list[str], rate: dict[tuple[str, str], float]) -> None:
    first = revisions[0]
    print("\n| revision | list req/s | vs first | create req/s | vs first |")
    print("|---|---:|---:|---:|---:|")
    for revision in revisions:
        list_rate, create_rate = rate[(revision, "list")], rate[(revision, "create")]
        print(
            f"| {revision} | {list_rate:,.0f} | {list_rate / rate[(first, 'list')]:.2f}× "
            f"| {create_rate:,.0f} | {create_rate / rate[(first, 'create')]:.2f}× |"
        )


if __name__ == "__main__":
    main()

"""Two requests to one service compared: wrk rounds that alternate which goes first, the cost
of one against the other (the ratio of their requests per second, median over the rounds), and
the rows that report them. `bench.lists` and `bench.caldav` measure this way.
"""

import argparse
import json
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass

from bench.wrk import Result, median_of, run_wrk

# A comparison: the request measured and the one it is held to, as `run_wrk` takes them.
Requests = tuple[dict, dict]


@dataclass
class Pair:
    """One comparison: the measured request and the one it is held to, their medians and the
    median of the per-round cost ratios (baseline req/s ÷ measured req/s)."""

    name: str
    measured: Result
    baseline: Result
    cost: float


def compare(
    wrk: str, base: str, comparisons: dict[str, Requests], rounds: int, load: dict
) -> list[Pair]:
    """Each comparison measured in `rounds` rounds, the first request first in every other."""
    pairs = []
    for name, (first, second) in comparisons.items():
        measured: list[Result] = []
        baseline: list[Result] = []
        for number in range(rounds):
            order = [(measured, first), (baseline, second)]
            for results, request in order if number % 2 == 0 else order[::-1]:
                results.append(run_wrk(wrk, base, **request, **load))
        cost = statistics.median(
            b.requests_per_second / m.requests_per_second
            for m, b in zip(measured, baseline, strict=True)
        )
        pairs.append(Pair(name, median_of(measured), median_of(baseline), cost))
    return pairs


def report(
    title: str, pairs: list[Pair], rows: dict[str, tuple[str, str]], goals: dict[str, float]
) -> bool:
    """Print a row per pair (`rows`: its name → what is measured, what it is held to) with its
    goal (the highest cost met); whether every goal was met and nothing failed."""
    columns = "req/s | p50 ms | p99 ms | errors | held to | req/s | p50 ms | cost | goal | met"
    print(f"| {title} | {columns} |")
    print("|---|---:|---:|---:|---:|---|---:|---:|---:|---:|:-:|")
    met = True
    for pair in pairs:
        goal = goals[pair.name]
        errors = pair.measured.errors + pair.baseline.errors
        ok = pair.cost <= goal and errors == 0
        met &= ok
        measured, held_to = rows[pair.name]
        print(
            f"| {measured} | {pair.measured.requests_per_second:,.0f} "
            f"| {pair.measured.p50_ms:.2f} | {pair.measured.p99_ms:.2f} | {errors} "
            f"| {held_to} | {pair.baseline.requests_per_second:,.0f} "
            f"| {pair.baseline.p50_ms:.2f} | {pair.cost:.2f}× | ≤ {goal} | "
            f"{'yes' if ok else 'NO'} |"
        )
    return met


def dump(key: str, pairs: list[Pair]) -> None:
    """The pairs as JSON on stderr, for `python -m bench` to collect."""
    print(json.dumps({key: [pair.__dict__ for pair in pairs]}, default=vars), file=sys.stderr)


def failed(pairs: list[Pair]) -> bool:
    """Whether any request was answered with an error."""
    return any(pair.measured.errors or pair.baseline.errors for pair in pairs)


def main(
    doc: str | None,
    default_url: str,
    run: Callable[..., list[Pair]],
    report: Callable[[list[Pair]], bool],
) -> None:
    """A module's command line: measure (`--quick`: short rounds), print, exit 1 on errors."""
    parser = argparse.ArgumentParser(description=doc)
    parser.add_argument("--quick", action="store_true", help="short rounds (CI smoke)")
    parser.add_argument("--database-url", default=default_url)
    args = parser.parse_args()
    pairs = run(args.database_url, quick=args.quick)
    report(pairs)
    if failed(pairs):
        sys.exit("error responses")

"""The tables a full run prints, and the targets each ratio is held to."""

from dataclasses import dataclass

from bench.wrk import Result


@dataclass
class Row:
    """One line of the table: the service, and the ceiling when it does the same work."""

    name: str
    service: Result
    ceiling: Result | None = None
    # Medians of the per-round ratios: each round's pair ran back to back.
    rps_ratio: float | None = None
    p99_ratio: float | None = None
    # An MCP row: `ceiling` is the REST request doing the same, and the ratios are the tool
    # call's cost in REST requests (REST req/s ÷ MCP req/s, MCP p50 ÷ REST p50).
    versus: bool = False
    p50_ratio: float | None = None


@dataclass
class Streaming:
    """Event streams held open on the one worker, and how fast a change reached them."""

    streams: int
    rss_mb: float
    idle_rss_mb: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    delivered: int
    expected: int


def report(
    rows: list[Row],
    memory: dict[str, float],
    table_size: int,
    args,
    duration: int,
    rounds: int,
    ratios: dict[str, float],
    streaming: Streaming,
) -> int:
    """Print the tables; the number of error responses."""
    print()
    print(
        f"wrk, {args.connections} connections, {duration} s each; service vs ceiling: medians "
        f"of {rounds} alternating rounds; one service worker; PostgreSQL; "
        f"{table_size:,} tasks at the end"
    )
    print()
    print(
        "| endpoint | service req/s | p50 ms | p99 ms | errors | ceiling req/s | p99 ms "
        "| req/s ratio | p99 ratio |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        if row.versus:
            continue
        mine, ceiling = row.service, row.ceiling
        line = (
            f"| {row.name} | {mine.requests_per_second:,.0f} | {mine.p50_ms:.2f} | "
            f"{mine.p99_ms:.2f} | {mine.errors} |"
        )
        if ceiling:
            line += (
                f" {ceiling.requests_per_second:,.0f} | {ceiling.p99_ms:.2f} | "
                f"{row.rps_ratio:.2f}× | {row.p99_ratio:.2f}× |"
            )
        else:
            line += " | | | |"
        print(line)
    print()
    mcp_rows = [row for row in rows if row.versus]
    print(
        "| MCP tool call vs the REST request doing the same | MCP req/s | p50 ms | p99 ms "
        "| errors | REST req/s | p50 ms | cost: REST req/s ÷ MCP req/s | MCP p50 ÷ REST p50 |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in mcp_rows:
        tool, rest = row.service, row.ceiling
        assert rest is not None and row.rps_ratio is not None and row.p50_ratio is not None
        print(
            f"| {row.name} | {tool.requests_per_second:,.0f} | {tool.p50_ms:.2f} | "
            f"{tool.p99_ms:.2f} | {tool.errors} | {rest.requests_per_second:,.0f} | "
            f"{rest.p50_ms:.2f} | {row.rps_ratio:.2f}× | {row.p50_ratio:.2f}× |"
        )
    print()
    results = {row.name: row.service for row in rows}
    by_name = {row.name: row for row in rows}
    small = results["list (50 tasks), full table"]
    big = next(result for name, result in results.items() if "first 50" in name)
    listing, creating = by_name["list (50 tasks)"], by_name["create (empty table)"]
    toggling = by_name["toggle"]
    errors = sum(row.service.errors + (row.ceiling.errors if row.ceiling else 0) for row in rows)
    # Issue 30's targets, each a ratio from this one run against the equal-work ceiling
    # (absolute numbers are noise here).
    targets = [
        ("list req/s vs ceiling", listing.rps_ratio, "≥", 0.8),
        ("create req/s vs ceiling", creating.rps_ratio, "≥", 0.6),
        ("toggle req/s vs ceiling", toggling.rps_ratio, "≥", 0.6),
        ("list p99 vs ceiling", listing.p99_ratio, "≤", 1.5),
        ("create p99 vs ceiling", creating.p99_ratio, "≤", 2.0),
        ("first 50 tasks p50, big user / 50-task user", big.p50_ms / small.p50_ms, "≤", 1.5),
        ("service idle RSS, MB", memory["service idle RSS"], "<", 150),
        # Issue 17's: a tool call costs at most twice the REST request doing the same.
        *((f"{row.name}: cost", row.rps_ratio, "≤", 2.0) for row in mcp_rows),
        ("error responses", errors, "=", 0),
        # Issue 15's: the change log's cost, and the live streams on one worker.
        ("create req/s, change log on / off", ratios["create req/s, log on / off"], "≥", 0.9),
        (
            "create req/s, 32 users, change log on / off",
            ratios["create req/s, 32 users, log on / off"],
            "≥",
            0.9,
        ),
        (
            "changes page cost / list page cost",
            ratios["changes page cost / list page cost"],
            "≤",
            1.2,
        ),
        (f"RSS with {streaming.streams:,} open streams, MB", streaming.rss_mb, "<", 500),
        (f"event to all {streaming.streams:,} streams, p99 ms", streaming.p99_ms, "<", 2000),
        ("events not delivered", streaming.expected - streaming.delivered, "=", 0),
    ]
    print("| target | measured | goal | met |")
    print("|---|---:|---:|:-:|")
    for name, value, op, goal in targets:
        met = {"≥": value >= goal, "≤": value <= goal, "<": value < goal, "=": value == goal}[op]
        shown = f"{value:.2f}" if isinstance(value, float) else str(value)
        if isinstance(value, float) and float(shown) == goal and value != goal:
            shown = f"{value:.3f}"  # rounded, it would read as the goal itself
        print(f"| {name} | {shown} | {op} {goal} | {'yes' if met else 'NO'} |")
    print()
    print(
        f"growth: create p50, full / empty table = "
        f"{results['create (full table)'].p50_ms / results['create (empty table)'].p50_ms:.2f}×"
    )
    for name, megabytes in memory.items():
        print(f"{name}: {megabytes:.0f} MB")
    print(
        f"event streams: {streaming.streams:,} open on one worker, RSS {streaming.idle_rss_mb:.0f} "
        f"MB before, {streaming.rss_mb:.0f} MB with them; a change reached them all: "
        f"p50 {streaming.p50_ms:.0f} ms, p99 {streaming.p99_ms:.0f} ms, max "
        f"{streaming.max_ms:.0f} ms ({streaming.delivered:,} of {streaming.expected:,} deliveries)"
    )
    return errors

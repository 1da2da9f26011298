"""The HTTP server's guarantees, tried on uvicorn and on Granian: `python -m bench.server_checks`.

The guarantees `tests/system/test_server_limits.py`, `tests/test_serve.py` and
`tests/system/test_events.py` pin on `todo-api serve` (uvicorn), tried the same way against each
server of `bench.servers`: a bounded request head (431), a head that must arrive in time (408),
X-Forwarded-For from trusted proxies only, in-flight requests finishing on SIGTERM and event
streams ending at once. Prints one line per check and server: what came back, and whether it is
what the tests ask of `todo-api serve`. Not a test: it says what a switch of server would keep.
"""

import argparse
import asyncio
import json
import os
import re
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import httpx2 as httpx
from sqlalchemy.engine import make_url

from bench.harness import (
    DEFAULT_URL,
    SECRET,
    Server,
    connect,
    migrated_database,
)
from bench.servers import COMMANDS, command, descendants
from todo_api.accounts import issue_token

ALICE = {
    "Authorization": "Bearer " + issue_token(SECRET, subject="alice", expires_in=timedelta(hours=1))
}
Check = tuple[str, str, bool]  # what was tried, what came back, whether the tests' answer


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (Granian's workers are children)."""
    total = 0.0
    for process in [pid, *descendants(pid)]:
        status = Path(f"/proc/{process}/status").read_text()
        total += int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024  # type: ignore[union-attr]
    return total


def raw(port: int, data: bytes, *, chunk: int = 65536, timeout: float = 30) -> tuple[bytes, float]:
    """Send `data` on a fresh connection, as much as the server reads; its answer, and how
    long the whole exchange took."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            for start in range(0, len(data), chunk):
                sock.sendall(data[start : start + chunk])
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = b""
        try:
            while piece := sock.recv(65536):
                answer += piece
        except (ConnectionResetError, TimeoutError):
            pass
    return answer, time.monotonic() - started


def status_of(answer: bytes) -> str:
    return answer.split(b"\r\n", 1)[0].decode(errors="replace") or "(closed, no answer)"


def access_clients(server: Server, request_id: str) -> list[str]:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        text = Path(server.log.name).read_text(errors="replace")
        lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
        found = [line["client"] for line in lines if line.get("request_id") == request_id]
        if found:
            return found
        time.sleep(0.1)
    return []


def head_checks(server: Server) -> list[Check]:
    """MAX_HEADER_BYTES=8192, MAX_HEADERS=20, REQUEST_HEAD_TIMEOUT_SECONDS=1."""
    checks: list[Check] = []
    before = tree_rss_mb(server.process.pid)
    huge = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 50_000_000 + b"\r\n\r\n"
    answer, took = raw(server.port, huge)
    grown = tree_rss_mb(server.process.pid) - before
    checks.append(
        (
            "50 MB header (limit 8 KiB)",
            f"{status_of(answer)} after {took:.2f} s, RSS +{grown:.0f} MB",
            status_of(answer).startswith("HTTP/1.1 431") and grown < 20,
        )
    )
    status = httpx.get(server.base + "/", headers={"X-Big": "v" * 9000}).status_code
    checks.append(("9,000-byte header (limit 8,192)", str(status), status == 431))
    many = b"".join(b"X-H%d: v\r\n" % n for n in range(21))
    answer, _ = raw(server.port, b"GET / HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n")
    checks.append(
        ("22 headers (limit 20)", status_of(answer), status_of(answer).startswith("HTTP/1.1 431"))
    )
    with httpx.Client() as client:
        statuses = [
            client.get(server.base + "/", headers={f"X-H{n}": "v" * 300 for n in range(15)})
            for _ in range(3)
        ]
    codes = [r.status_code for r in statuses]
    checks.append(("15 headers of 300 bytes, 3 on one connection", str(codes), codes == [200] * 3))
    body = json.dumps({"email": "a@example.com", "password": "x" * 60_000, "name": "A"})
    status = httpx.post(server.base + "/api/auth/sign-in", content=body).status_code
    checks.append(("small head, 60 KB body", str(status), status == 422))
    # Slowloris: a header every 0.25 s, never ending the head.
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        started = time.monotonic()
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        answer = b""
        try:
            for n in range(20):
                time.sleep(0.25)
                sock.sendall(b"X-Slow-%d: v\r\n" % n)
        except OSError:
            pass  # closed on us
        try:
            while piece := sock.recv(65536):
                answer += piece
        except OSError:
            pass
        took = time.monotonic() - started
    checks.append(
        (
            "head trickled for 5 s (timeout 1 s)",
            f"{status_of(answer)} after {took:.2f} s",
            status_of(answer).startswith("HTTP/1.1 408") and 0.9 <= took < 3,
        )
    )
    answer, took = raw(server.port, b"", timeout=10)
    checks.append(
        (
            "connection that sends nothing",
            f"{status_of(answer)} after {took:.2f} s",
            status_of(answer).startswith("HTTP/1.1 408") and took < 3,
        )
    )
    with httpx.Client() as client:
        first = client.get(server.base + "/").status_code
        time.sleep(1.5)
        try:
            second = str(client.get(server.base + "/").status_code)
        except httpx.TransportError as exc:
            second = type(exc).__name__
    checks.append(("kept-alive, 1.5 s idle, next request", f"{first}, {second}", second == "200"))
    checks.append(idle_check(server))
    headers = {"X-Forwarded-For": "6.6.6.6, 203.0.113.7", "X-Request-ID": "proxied-1"}
    status = httpx.get(server.base + "/", headers=headers).status_code
    clients = access_clients(server, "proxied-1")
    checks.append(
        (
            "X-Forwarded-For from trusted 127.0.0.1",
            f"{status}, client {clients}",
            clients == ["203.0.113.7"],
        )
    )
    checks.append(
        (
            "Server header",
            httpx.get(server.base + "/").headers.get("server", "(none)"),
            "server" not in httpx.get(server.base + "/").headers,
        )
    )
    return checks


def idle_check(server: Server) -> Check:
    """How long a kept-alive connection may sit idle after its request (uvicorn: 5 s)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = sock.recv(65536)
        started = time.monotonic()
        try:
            while sock.recv(65536):
                pass
            closed = f"closed after {time.monotonic() - started:.1f} s"
        except TimeoutError:
            closed = "still open after 30 s"
    return (
        "kept-alive connection left idle after a request",
        f"{status_of(answer)}; {closed}",
        closed.startswith("closed"),
    )


def default_limit_checks(server: Server) -> list[Check]:
    def get(headers: dict[str, str]) -> int:
        return httpx.get(server.base + "/", headers=headers).status_code

    many = {f"X-H{n}": "v" for n in range(99)}
    codes = [
        get({"X-Big": "v" * 30_000}),
        get({"X-Big": "v" * 33_000}),
        get(many),
        get(dict(list(many.items())[:90])),
    ]
    return [
        (
            "defaults: 30,000 / 33,000-byte header, 104 / 95 headers",
            str(codes),
            codes == [200, 431, 431, 200],
        )
    ]


def untrusted_peer_checks(server: Server) -> list[Check]:
    """FORWARDED_ALLOW_IPS private networks only; 4 requests a minute per address."""
    statuses = []
    for n in range(5):
        headers = {"X-Forwarded-For": f"198.51.100.{n}", "X-Request-ID": f"forged-{n}"}
        statuses.append(httpx.get(server.base + "/", headers=headers).status_code)
    clients = access_clients(server, "forged-0")
    return [
        (
            "forged X-Forwarded-For from an untrusted peer, limit 4/minute",
            f"{statuses}, client {clients}",
            statuses == [200, 200, 200, 429, 429] and clients == ["127.0.0.1"],
        )
    ]


def shutdown_checks(server: Server, url: str) -> list[Check]:
    """Two workers: a request in flight at SIGTERM completes, new ones are refused."""
    body = json.dumps({"title": "written during shutdown"}).encode()
    head = (
        f"POST /api/alice/tasks HTTP/1.1\r\nHost: x\r\nAuthorization: {ALICE['Authorization']}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    refused_after = None
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(head + body[:10])
        time.sleep(0.5)
        server.process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        while time.monotonic() - started < 15:
            try:
                httpx.get(server.base + "/health", timeout=2)
            except httpx.TransportError:
                refused_after = time.monotonic() - started
                break
            time.sleep(0.2)
        answer = b""
        try:
            sock.sendall(body[10:])
            while piece := sock.recv(65536):
                answer += piece
        except OSError as exc:
            answer = answer or f"({type(exc).__name__})".encode()
    code = server.process.wait(timeout=60)
    stored = asyncio.run(_titles(url))
    return [
        (
            "SIGTERM, 2 workers: new requests refused",
            "no" if refused_after is None else f"after {refused_after:.1f} s",
            refused_after is not None,
        ),
        (
            "SIGTERM, 2 workers: the request in flight",
            f"{status_of(answer)}; exit {code}; stored {stored}",
            status_of(answer).startswith("HTTP/1.1 201")
            and code in {0, -signal.SIGTERM}
            and stored == ["written during shutdown"],
        ),
    ]


def stream_checks(server: Server) -> list[Check]:
    """An open event stream ends at once on SIGTERM (SHUTDOWN_TIMEOUT_SECONDS is 30)."""
    ended: list[float] = []

    def read() -> None:
        with httpx.stream("GET", server.base + "/api/alice/events", headers=ALICE, timeout=40) as r:
            for _ in r.iter_bytes():
                pass
        ended.append(time.monotonic())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    time.sleep(2)
    started = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    reader.join(timeout=40)
    code = server.process.wait(timeout=60)
    took = ended[0] - started if ended else None
    return [
        (
            "open event stream at SIGTERM",
            ("still open" if took is None else f"ended after {took:.1f} s") + f"; exit {code}",
            took is not None and took < 5,
        )
    ]


def body_limit_checks(server: Server) -> list[Check]:
    """MAX_BODY_BYTES=2048 and a chunked body that crosses it."""
    head = (
        f"POST /api/alice/tasks HTTP/1.1\r\nHost: x\r\nAuthorization: {ALICE['Authorization']}\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode()
    chunk = b"x" * 1000
    data = head + b'10\r\n{"title": "big",\r\n' + b"".join(b"3e8\r\n%s\r\n" % chunk for _ in "abc")
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(data)
        answer = sock.recv(65536)
    return [("chunked body over 2,048 bytes", status_of(answer), b" 413 " in answer[:20])]


async def _titles(url: str) -> list[str]:
    connection = await connect(url)
    try:
        rows = await connection.fetch("SELECT title FROM task ORDER BY id")
        await connection.execute("DELETE FROM task")
        return [row["title"] for row in rows]
    finally:
        await connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.server_checks", description=__doc__)
    parser.add_argument(
        "--database-url",
        default=make_url(os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
        .set(database="todo_bench_checks")
        .render_as_string(hide_password=False),
    )
    args = parser.parse_args()
    url = args.database_url
    env = migrated_database(url, LOG_FORMAT="json")
    runs: list[tuple[str, int, dict[str, str], Callable[[Server], list[Check]]]] = [
        (
            "head",
            1,
            {"MAX_HEADER_BYTES": "8192", "MAX_HEADERS": "20", "REQUEST_HEAD_TIMEOUT_SECONDS": "1"},
            head_checks,
        ),
        ("defaults", 1, {}, default_limit_checks),
        (
            "proxies",
            1,
            {
                "FORWARDED_ALLOW_IPS": "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16",
                "RATE_LIMIT_ENABLED": "true",
                "RATE_LIMIT_PER_IP": "4/minute",
            },
            untrusted_peer_checks,
        ),
        ("shutdown", 2, {}, lambda server: shutdown_checks(server, url)),
        ("streams", 1, {"EVENTS_HEARTBEAT_SECONDS": "0.5"}, stream_checks),
        ("body", 1, {"MAX_BODY_BYTES": "2048"}, body_limit_checks),
    ]
    print("| check | server | answer | as the tests ask |")
    print("|---|---|---|:-:|")
    for name, workers, settings, run in runs:
        for kind in COMMANDS:
            server = Server(f"checks-{name}-{kind}", command(kind, workers), env | settings)
            try:
                for what, answer, ok in run(server):
                    print(f"| {what} | {kind} | {answer} | {'yes' if ok else 'NO'} |", flush=True)
            finally:
                server.stop()


if __name__ == "__main__":
    sys.exit(main())

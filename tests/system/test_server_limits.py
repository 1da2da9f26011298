"""The server itself, over raw sockets: which proxies are trusted, and how big a head may be."""

import json
import socket
import time

import httpx2 as httpx

from tests.system.conftest import Server, StartServer
from tests.test_serve import _image_env


def _access_clients(server: Server, request_id: str) -> list[str]:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        lines = [json.loads(line) for line in server.log().splitlines() if line.startswith("{")]
        clients = [line["client"] for line in lines if line.get("request_id") == request_id]
        if clients:
            return clients
        time.sleep(0.1)
    return []


def test_the_docker_image_does_not_trust_every_client_s_forwarded_for() -> None:
    # Unset, the service's default applies: loopback only.
    assert "FORWARDED_ALLOW_IPS" not in _image_env()


def test_behind_a_trusted_proxy_the_client_is_the_address_the_proxy_saw(
    start_server: StartServer, database_url: str
) -> None:
    # The default trusts only loopback, where this test's "proxy" is: a forged entry that the
    # client put in front is not the client, the one the proxy appended is.
    server = start_server(database_url, log_format="json")
    headers = {"X-Forwarded-For": "6.6.6.6, 203.0.113.7", "X-Request-ID": "proxied-1"}
    assert httpx.get(f"{server.url}/", headers=headers).status_code == 200
    assert _access_clients(server, "proxied-1") == ["203.0.113.7"]


def test_an_untrusted_peer_cannot_forge_its_address_or_dodge_the_address_limit(
    start_server: StartServer, database_url: str
) -> None:
    # As on Hugging Face Spaces: only the platform's private network is trusted.
    server = start_server(
        database_url,
        log_format="json",
        forwarded_allow_ips="10.0.0.0/8,172.16.0.0/12,192.168.0.0/16",
        rate_limit_enabled="true",
        rate_limit_per_ip="4/minute",  # one is the start-up check's
    )
    statuses = []
    for n in range(5):
        headers = {"X-Forwarded-For": f"198.51.100.{n}", "X-Request-ID": f"forged-{n}"}
        statuses.append(httpx.get(f"{server.url}/", headers=headers).status_code)
    assert statuses == [200, 200, 200, 429, 429]
    assert _access_clients(server, "forged-0") == ["127.0.0.1"]


def _raw_request(port: int, head: bytes, *, chunk: int = 65536) -> bytes:
    """Send a request head (as much of it as the server reads) and return what it answers."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        try:
            for start in range(0, len(head), chunk):
                sock.sendall(head[start : start + chunk])
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused mid-head: the answer is already waiting
        answer = b""
        try:
            while data := sock.recv(65536):
                answer += data
        except ConnectionResetError:
            pass
    return answer


def test_heads_over_the_size_or_count_limit_get_431_and_others_are_served(
    start_server: StartServer, database_url: str
) -> None:
    server = start_server(database_url, max_header_bytes="8192", max_headers="20")
    # One huge header: refused once the limit is crossed, not buffered to the end.
    head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 50_000_000 + b"\r\n\r\n"
    answer = _raw_request(server.port, head)
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert answer.endswith(b'{"detail":"Request headers too large"}')
    assert httpx.get(f"{server.url}/", headers={"X-Big": "v" * 9000}).status_code == 431
    # Too many small headers.
    many = b"".join(b"X-H%d: v\r\n" % n for n in range(21))
    answer = _raw_request(server.port, b"GET / HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n")
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    # Within both limits, on a kept-alive connection, request after request.
    with httpx.Client() as client:
        for _ in range(3):
            headers = {f"X-H{n}": "v" * 300 for n in range(15)}
            assert client.get(f"{server.url}/", headers=headers).status_code == 200
    # A body is no part of the head: 60 KB in the same packets as a small head is fine.
    body = json.dumps({"email": "a@example.com", "password": "x" * 60_000, "name": "A"})
    response = httpx.post(f"{server.url}/api/auth/sign-in", content=body)
    assert response.status_code == 422


def test_the_default_head_limits_are_32_kib_and_100_headers(
    start_server: StartServer, database_url: str
) -> None:
    server = start_server(database_url)
    assert httpx.get(f"{server.url}/", headers={"X-Big": "v" * 30_000}).status_code == 200
    assert httpx.get(f"{server.url}/", headers={"X-Big": "v" * 33_000}).status_code == 431
    many = {f"X-H{n}": "v" for n in range(99)}
    assert httpx.get(f"{server.url}/", headers=many).status_code == 431
    assert httpx.get(f"{server.url}/", headers=dict(list(many.items())[:90])).status_code == 200


def test_a_head_that_does_not_arrive_in_time_closes_the_connection(
    start_server: StartServer, database_url: str
) -> None:
    server = start_server(database_url, request_head_timeout_seconds="1")
    # Slowloris: a head that starts, and goes on a header now and then, never finishing.
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
        while chunk := sock.recv(65536):
            answer += chunk
        elapsed = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert 0.9 <= elapsed < 3, elapsed
    # A connection that sends nothing at all is closed as well.
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        assert sock.recv(65536).startswith(b"HTTP/1.1 408 ")
    # A whole request on a kept-alive connection, then a slow client's next one, are served
    # (the clock runs while a head arrives, not while a response is written).
    with httpx.Client() as client:
        assert client.get(f"{server.url}/").status_code == 200
        time.sleep(1.5)
        assert client.get(f"{server.url}/").status_code == 200

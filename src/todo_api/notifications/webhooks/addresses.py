"""Which addresses the service may send requests to on a user's behalf (webhook receivers).

A user chooses a webhook's URL, so without a guard the service would call whatever it can
reach: its own admin ports, the private network, a cloud's metadata endpoint. Addresses that
are not globally routable are refused, when the webhook is created and again on every
connection: `GuardedBackend` resolves the host itself and connects to the address it checked,
so DNS answering differently at delivery time (rebinding) changes nothing.
"""

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from typing import Any

import httpcore2
import httpx2 as httpx
from httpcore2 import AsyncNetworkStream
from httpcore2._backends.auto import AutoBackend

from todo_api.core.http.outbound import tls_context

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeAddress(Exception):
    """The host is, or resolves to, an address webhooks may not reach, or none at all; the
    message says which, never the address (a user must not learn what the service's own
    network names resolve to)."""

    def __init__(self, message: str, *, private: bool) -> None:
        super().__init__(message)
        self.private = private


# Where an IPv6 address carries an IPv4 one, the IPv4 one is where a connection ends up:
# NAT64's well-known prefix and the deprecated IPv4-compatible form, by their last 32 bits
# (6to4 and Teredo have their own accessors, IPv4-mapped too).
_LAST_32_BITS = (
    ipaddress.IPv6Network("64:ff9b::/96"),
    ipaddress.IPv6Network("::/96"),
)
# NAT64 for local use: where it leads is up to the network it is on.
_TRANSLATED_LOCALLY = ipaddress.IPv6Network("64:ff9b:1::/48")


def _carried_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address stands for (none for a plain IPv6 one)."""
    carried = [v4 for v4 in (address.ipv4_mapped, address.sixtofour) if v4 is not None]
    if address.teredo is not None:
        carried += address.teredo
    if any(address in network for network in _LAST_32_BITS):
        carried.append(ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF))
    return carried


def is_forbidden(address: IPAddress) -> bool:
    """Loopback, private, link-local (cloud metadata: 169.254.169.254, fd00:ec2::254),
    shared, reserved and multicast addresses: anything not on the public internet, and any
    IPv6 address that carries (or translates to) such an IPv4 one."""
    if isinstance(address, ipaddress.IPv6Address):
        if address in _TRANSLATED_LOCALLY:
            return True
        if carried := _carried_ipv4(address):
            return any(is_forbidden(v4) for v4 in carried)
    return not address.is_global or address.is_multicast


async def resolve(host: str, port: int) -> list[IPAddress]:
    """The addresses `host` resolves to (itself, if it is an IP literal)."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UnsafeAddress(f"the host {host!r} does not resolve", private=False) from None
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))


async def public_addresses(host: str, port: int) -> list[IPAddress]:
    """The host's addresses, or UnsafeAddress if any of them is not public."""
    addresses = await resolve(host, port)
    for address in addresses:
        if is_forbidden(address):
            raise UnsafeAddress(f"the host {host!r} is not a public address", private=True)
    return addresses


class GuardedBackend(httpcore2.AsyncNetworkBackend):
    """httpcore's network backend, connecting only to public addresses it resolved itself.

    TLS still verifies the certificate against the URL's host name: only the TCP connection
    goes to the checked address.
    """

    def __init__(self) -> None:
        self._backend = AutoBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> AsyncNetworkStream:
        try:
            addresses = await public_addresses(host, port)
        except UnsafeAddress as error:
            raise httpcore2.ConnectError(str(error)) from error
        return await self._backend.connect_tcp(
            str(addresses[0]),
            port,
            timeout=timeout,
            local_address=local_address,
            socket_options=socket_options,
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[Any] | None = None,
    ) -> AsyncNetworkStream:
        raise httpcore2.ConnectError("webhooks are sent over TCP only")

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


def webhook_client(*, timeout: float, allow_private: bool) -> httpx.AsyncClient:
    """The client deliveries go out on: no redirects, no proxies from the environment, and
    (unless `allow_private`) public addresses only."""
    transport = httpx.AsyncHTTPTransport(verify=tls_context(), trust_env=False)
    if not allow_private:
        # httpx's transport takes no network backend: give its pool one that checks.
        transport._pool = httpcore2.AsyncConnectionPool(
            ssl_context=transport._pool._ssl_context, network_backend=GuardedBackend()
        )
    return httpx.AsyncClient(
        transport=transport, timeout=timeout, follow_redirects=False, trust_env=False
    )

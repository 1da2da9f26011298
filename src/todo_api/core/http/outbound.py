"""What the service's own HTTP clients (JWKS fetches, webhook deliveries) verify servers with."""

import functools
import ssl

import httpx2 as httpx


@functools.cache
def tls_context() -> ssl.SSLContext:
    """httpx's default verification (certifi's CA bundle), built once per process.

    Loading the CA bundle is most of what making a client costs; a context can be shared by
    every client and connection, and it is never changed after this.
    """
    return httpx.create_ssl_context()

"""The service on Granian, as close to `todo-api serve` as Granian lets it be, for the server
comparison (`python -m bench.servers`): `python -m bench.granian_serve --port P --workers N`.

What `todo-api serve` gives uvicorn, and what this gives Granian in its place:

- the same app (`todo_api.main:app`) with its own lifespan, and the service's log config in
  every worker (Granian applies a dictConfig there as uvicorn does); no server access log, the
  service logs each request itself;
- X-Forwarded-For from FORWARDED_ALLOW_IPS only: uvicorn's own ProxyHeadersMiddleware around
  the app, since Granian has no such option (the app does not do it itself);
- the request head: Granian's HTTP/1 read buffer capped at MAX_HEADER_BYTES (hyper answers 431
  past it; 8 KiB is Granian's floor) and its header read timeout at
  REQUEST_HEAD_TIMEOUT_SECONDS (hyper closes the connection, with no 408);
- shutdown: Granian lets in-flight requests finish on SIGTERM; SHUTDOWN_TIMEOUT_SECONDS
  becomes the time after which a worker that has not stopped is killed.

HTTP/1 only and uvloop, as uvicorn runs here (the bench's wrk speaks HTTP/1.1 only).
"""

import argparse
import math
from typing import Any


def service() -> Any:
    """The ASGI app a Granian worker serves (a factory: imported in the worker, not here)."""
    from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

    from todo_api.core.config import get_settings
    from todo_api.main import app

    trusted = get_settings().forwarded_allow_ips
    return ProxyHeadersMiddleware(app, trusted_hosts=trusted) if trusted else app


def main() -> None:
    from granian.constants import HTTPModes, Interfaces, Loops
    from granian.http import HTTP1Settings
    from granian.log import LogLevels
    from granian.server import Server

    from todo_api.core.config import get_settings
    from todo_api.core.logs import log_config

    parser = argparse.ArgumentParser(prog="python -m bench.granian_serve", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    settings = get_settings()
    logging = log_config(settings)
    # Granian's own loggers: its start and stop lines through the service's handler.
    logging["loggers"]["_granian"] = {"handlers": ["default"], "propagate": False}
    Server(
        "bench.granian_serve:service",
        address=args.host,
        port=args.port,
        interface=Interfaces.ASGI,
        workers=args.workers,
        loop=Loops.uvloop,
        http=HTTPModes.http1,
        websockets=False,
        http1_settings=HTTP1Settings(
            header_read_timeout=max(1, round(settings.request_head_timeout_seconds * 1000)),
            max_buffer_size=max(8192, settings.max_header_bytes),
        ),
        log_dictconfig=logging,
        log_level=LogLevels(settings.log_level.lower()),
        log_access=False,
        workers_kill_timeout=max(1, math.ceil(settings.shutdown_timeout_seconds)),
        factory=True,
    ).serve()


if __name__ == "__main__":
    main()

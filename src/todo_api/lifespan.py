"""What the app runs with, built when it starts and released when it stops: the database and
its store, the token verifier, the change log's horizon and live streams, the background jobs,
and the notifier that wires a commit to all of them. Each part goes into the app's state
(`core/state.py`), where routes find it by its class.
"""

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx2 as httpx
from fastapi import FastAPI

from todo_api.accounts.throttle import LoginThrottle
from todo_api.accounts.users import KnownUsers
from todo_api.accounts.verifier import create_verifier
from todo_api.core.config import Settings
from todo_api.core.database import Store, head_revision, open_database
from todo_api.core.http.outbound import tls_context
from todo_api.core.jobs import JobRunner
from todo_api.core.mail import SmtpMailer
from todo_api.core.state import app_state
from todo_api.mcp.endpoint import McpEndpoint
from todo_api.notifications.jobs import Notifications
from todo_api.sync.broker import ChangeBroker, StreamLimits
from todo_api.sync.horizon import ChangeHorizon
from todo_api.sync.log import LogWriter
from todo_api.sync.notifier import Notifier
from todo_api.sync.retention import ChangeRetention
from todo_api.sync.tickets import TicketSigner
from todo_api.tasks.sharing import repository as sharing
from todo_api.tasks.sharing.limits import AcceptLimiter


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Connect (and migrate) on startup, start the loops; stop and release it all on shutdown."""
    state = app_state(app)
    settings = state.get(Settings)
    head_revision()  # read once now: `/ready` compares with it
    db = await open_database(settings, migrate=settings.run_migrations_on_startup)
    notifier = Notifier()
    log = LogWriter() if settings.changes_enabled else None
    store = state.add(Store(db, log, on_commit=notifier.committed, audience=sharing.audience))
    http = httpx.AsyncClient(
        timeout=settings.jwks_timeout_seconds, follow_redirects=True, verify=tls_context()
    )
    verifier = state.add(create_verifier(settings, http))
    state.add(KnownUsers())
    state.add(LoginThrottle(settings, db))
    state.add(AcceptLimiter(settings))
    if SmtpMailer.configured(settings):
        state.add(SmtpMailer(settings))
    state.add(TicketSigner(settings.service_key()))
    listen_url = None
    if db.dialect_name == "postgresql":
        listen_url = settings.database_direct_url or settings.effective_database_url
    horizon = state.add(ChangeHorizon(db, announce=notifier.final))
    limits = StreamLimits(
        per_user=settings.events_max_streams_per_user,
        per_address=settings.events_max_streams_per_address,
    )
    broker = state.add(
        ChangeBroker(
            db,
            horizon,
            listen_url=listen_url,
            heartbeat=settings.events_heartbeat_seconds,
            limits=limits,
        )
    )
    notifications = state.add(Notifications(store, settings, horizon))
    state.add(notifications.sender)
    state.add(notifications.secrets)
    # A commit: the horizon moves on to cover it (the log on), the reminder loop looks again.
    if settings.changes_enabled:
        notifier.on_commit(horizon.wrote)
    notifier.on_commit(notifications.written)
    # Changes final: the streams open here and the webhooks follow them.
    notifier.on_final(broker.wake_feeds)
    notifier.on_final(notifications.changed)
    await broker.start()
    broker.end_streams_on_exit_signals()
    horizon.start()
    jobs = JobRunner()
    if settings.background_jobs:
        jobs.start(*notifications.jobs, ChangeRetention(db, settings))
    # Everything loaded so far lives as long as the process: keep the collector from walking
    # it again and again (a full collection over it stalls requests).
    gc.collect()
    gc.freeze()
    try:
        async with state.get(McpEndpoint).running():
            yield
    finally:
        await jobs.stop()
        await notifications.close()
        await horizon.stop()
        await broker.close()
        await verifier.close()
        await http.aclose()
        await db.close()

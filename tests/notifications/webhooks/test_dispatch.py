"""Queueing deliveries from the change log: a round that finds nothing to do stays cheap."""

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Headers, part, query
from tests.notifications.webhooks.test_deliveries import FAST, create, subscribe
from tests.support.receiver import Receiver
from todo_api.core.config import Settings
from todo_api.core.database import Database, Store
from todo_api.main import create_app
from todo_api.notifications.jobs import Notifications
from todo_api.sync.horizon import ChangeHorizon


def test_a_round_with_every_webhook_up_to_date_opens_no_transaction(
    make_settings: Callable[..., Settings],
    alice: Headers,
    bob: Headers,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = make_settings(**FAST | {"background_jobs": False})
    with TestClient(create_app(settings)) as client:
        subscribe(client, alice, receiver)
        create(client, alice)
        client.portal.call(part(client, ChangeHorizon).fresh)
        dispatcher = part(client, Notifications).dispatcher
        assert client.portal.call(dispatcher.dispatch) == 1
        create(client, bob, user="bob")  # a change no webhook follows
        client.portal.call(part(client, ChangeHorizon).fresh)
        opened = count_transactions(part(client, Store).db, monkeypatch)

        assert client.portal.call(dispatcher.dispatch) == 0
        assert opened == []
        deliveries = query(client, "SELECT count(*) AS n FROM webhook_delivery")
        assert deliveries[0]["n"] == 1


def count_transactions(db: Database, monkeypatch: pytest.MonkeyPatch) -> list[None]:
    """A list that grows by one for each transaction `db` opens from now on."""
    opened: list[None] = []
    real = db.transaction

    @asynccontextmanager
    async def counted() -> AsyncIterator[Database]:
        opened.append(None)
        async with real() as tx:
            yield tx

    monkeypatch.setattr(db, "transaction", counted)
    return opened

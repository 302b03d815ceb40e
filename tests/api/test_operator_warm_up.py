"""The operator app answers as soon as it is created: the order book is folded in the background,
and only the routes that need it wait for the fold."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import httpx

from api.operator_app import create_operator_app
from api.read_model import BackendReadModel, prepare
from milkbot.bootstrap import bootstrap
from milkbot.metrics import TextfileMetrics
from milkbot.settings import load_config
from tests.api.conftest import TOKEN, secret_settings
from tests.api.scenario import seed


class HeldStore:
    """The ledger's store, whose record reads wait until ``release`` is set."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self.reading = threading.Event()
        self.release = threading.Event()

    def read_records(self, *args: Any, **kwargs: Any) -> Any:
        self.reading.set()
        assert self.release.wait(30), "the test never released the fold"
        return self._store.read_records(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def test_health_answers_while_the_order_book_is_folded(tmp_path: Path) -> None:
    settings = secret_settings(f"sqlite:///{tmp_path / 'ledger.sqlite'}", tmp_path)
    config, _ = load_config(settings)
    with bootstrap(settings) as app:
        seeded = seed(app.ledger)
        prepare(app)
        app.runner().catch_up()
        store = HeldStore(app.ledger.store)
        operator = create_operator_app(
            store, BackendReadModel(app.ledger.backend), config=config,  # type: ignore[arg-type]
            token=TOKEN, metrics=TextfileMetrics(tmp_path / "metrics.prom"),
            ledger_position=app.ledger.store.max_position)
        assert store.reading.wait(10)  # the fold started on its own, and is held
        asyncio.run(ask(operator, store, seeded.open_order_id))


async def ask(operator: Any, store: HeldStore, open_order_id: str) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=operator),
                                 base_url="http://operator",
                                 headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        health = await client.get("/healthz")
        assert health.status_code == 200 and health.json()["ledger"]["position"] > 0
        assert (await client.get("/metrics")).status_code == 200

        orders = asyncio.ensure_future(client.get("/api/operator/orders"))
        done, _ = await asyncio.wait([orders], timeout=0.5)
        assert not done  # it waits for the fold...
        store.release.set()
        answer = await asyncio.wait_for(orders, 30)
    assert answer.status_code == 200  # ...and then answers from all of it
    assert open_order_id in answer.text

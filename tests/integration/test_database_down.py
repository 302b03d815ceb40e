"""Postgres behaviour that needs a server of the test's own: one that stops under a running
ledger, and one reached over its Unix socket."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from eventstore import StoreUnavailable, open_ledger
from eventstore.throwaway_postgres import PostgresUnavailable, ThrowawayPostgres
from tests.builders import an_order_filled
from tests.conftest import postgres_missing

pytestmark = pytest.mark.postgres


@pytest.fixture
def own_server() -> Iterator[ThrowawayPostgres]:
    server = ThrowawayPostgres()
    try:
        server.start()
    except PostgresUnavailable as e:
        postgres_missing(str(e))
    try:
        yield server
    finally:
        server.stop()


def test_postgres_stopping_under_a_running_ledger(own_server: ThrowawayPostgres) -> None:
    ledger = open_ledger(own_server.create_database("going_away"))
    ledger.store.append([an_order_filled("f-1")])
    own_server.stop()

    with pytest.raises(StoreUnavailable, match="failed during an append"):
        ledger.store.append([an_order_filled("f-2")])
    with pytest.raises(StoreUnavailable):
        ledger.store.read()
    with pytest.raises(StoreUnavailable), ledger.backend.transaction() as tx:
        tx.execute("SELECT 1")


def test_a_large_command_over_a_unix_socket_does_not_hang(own_server: ThrowawayPostgres) -> None:
    # A single save of more than ~2,000 events once hung forever in psycopg's pipeline sync over
    # a Unix socket (not over TCP); appends no longer use the pipeline.
    own_server.create_database("socket")
    with open_ledger(own_server.unix_socket_url("socket")) as ledger:
        done = threading.Event()

        def append() -> None:
            ledger.store.append([an_order_filled(f"s-{i}") for i in range(5_000)])
            done.set()

        worker = threading.Thread(target=append, daemon=True)
        worker.start()
        worker.join(timeout=120)
        assert done.is_set(), "a 5,000-event append over a Unix socket did not finish"
        assert ledger.store.max_position() >= 5_000

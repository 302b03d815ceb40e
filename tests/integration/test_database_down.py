"""A database that goes away mid-run is a clear ``StoreUnavailable``, never a driver traceback."""

from __future__ import annotations

import pytest

from eventstore import StoreUnavailable, open_ledger
from eventstore.throwaway_postgres import PostgresUnavailable, ThrowawayPostgres
from tests.builders import an_order_filled
from tests.conftest import postgres_missing


@pytest.mark.postgres
def test_postgres_stopping_under_a_running_ledger() -> None:
    server = ThrowawayPostgres()
    try:
        server.start()
    except PostgresUnavailable as e:
        postgres_missing(str(e))
    try:
        ledger = open_ledger(server.create_database("going_away"))
        ledger.store.append([an_order_filled("f-1")])
    finally:
        server.stop()

    with pytest.raises(StoreUnavailable, match="failed during an append"):
        ledger.store.append([an_order_filled("f-2")])
    with pytest.raises(StoreUnavailable):
        ledger.store.read()
    with pytest.raises(StoreUnavailable), ledger.backend.transaction() as tx:
        tx.execute("SELECT 1")


@pytest.mark.postgres
def test_a_large_command_over_a_unix_socket_does_not_hang() -> None:
    # A single save of more than ~2,000 events once hung forever in psycopg's pipeline sync over
    # a Unix socket (not over TCP); appends no longer use the pipeline.
    import threading

    server = ThrowawayPostgres()
    try:
        server.start()
    except PostgresUnavailable as e:
        postgres_missing(str(e))
    try:
        server.create_database("socket")
        with open_ledger(server.unix_socket_url("socket")) as ledger:
            done = threading.Event()

            def append() -> None:
                ledger.store.append([an_order_filled(f"s-{i}") for i in range(5_000)])
                done.set()

            worker = threading.Thread(target=append, daemon=True)
            worker.start()
            worker.join(timeout=120)
            assert done.is_set(), "a 5,000-event append over a Unix socket did not finish"
            assert ledger.store.max_position() >= 5_000
    finally:
        server.stop()

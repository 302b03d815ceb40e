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

"""The eventsourcing library's own recorder conformance cases, run against our Postgres recorder.

``LedgerRecorder`` replaces the library's insert path (one server function instead of a pipeline),
so it must still pass the library's contract: inserts, selects, notification ids that follow
commit order, and no interleaving of two concurrent commands' positions.
"""

from __future__ import annotations

from uuid import uuid4

import pytest
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.tests.persistence import (
    ApplicationRecorderTestCase,
    NonInterleavingNotificationIDsBaseCase,
)

from eventstore.postgres_backend import EVENTS_TABLE, LedgerRecorder
from eventstore.url import PostgresUrl, parse_database_url

pytestmark = pytest.mark.postgres


class _OnAFreshPostgresDatabase:
    url: PostgresUrl

    @pytest.fixture(autouse=True)
    def _database(self, postgres_url: str):
        url = parse_database_url(postgres_url)
        assert isinstance(url, PostgresUrl)
        self.url = url
        self.datastores: list[PostgresDatastore] = []
        yield
        for datastore in self.datastores:
            datastore.close()

    def new_originator_id(self) -> str:
        return str(uuid4())  # our streams are text

    def create_recorder(self) -> LedgerRecorder:
        datastore = PostgresDatastore(
            dbname=self.url.dbname, host=self.url.host, port=self.url.port, user=self.url.user,
            password=self.url.password, originator_id_type="text", pool_size=4)
        self.datastores.append(datastore)
        recorder = LedgerRecorder(datastore, events_table_name=EVENTS_TABLE)
        recorder.create_table()
        return recorder


class TestLedgerRecorderIsAnApplicationRecorder(_OnAFreshPostgresDatabase,
                                                ApplicationRecorderTestCase[LedgerRecorder]):
    # Timings belong to bench/ledger.py, not to the test suite: not collected here.
    test_performance = None  # type: ignore[assignment]
    test_concurrent_throughput = None  # type: ignore[assignment]


class TestLedgerRecorderNeverInterleavesCommands(_OnAFreshPostgresDatabase,
                                                 NonInterleavingNotificationIDsBaseCase):
    pass

"""Shared fixtures: a fresh ledger on every backend, and a throwaway PostgreSQL when none is set.

``MILKBOT_TEST_DATABASE_URL`` points the Postgres tests at an existing server (its user must be able
to CREATE DATABASE); without it one server is started for the session on loopback. With ``CI=true``
a Postgres that cannot start fails the run; elsewhere its tests are skipped with the reason.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from eventstore import Ledger, open_ledger
from eventstore.throwaway_postgres import PostgresUnavailable, ThrowawayPostgres

_database_numbers = itertools.count(1)


class PostgresServer:
    """Creates a fresh database per test on one server."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url

    def fresh_database_url(self) -> str:
        name = f"milkbot_test_{os.getpid()}_{next(_database_numbers)}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        base, _, _ = self.admin_url.rpartition("/")
        return f"{base}/{name}"


def postgres_missing(reason: str) -> None:
    """Skip a Postgres test here, but fail it under CI, where a missing Postgres is a defect."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI needs PostgreSQL and it would not start: {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL unavailable: {reason}")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    configured = os.environ.get("MILKBOT_TEST_DATABASE_URL")
    if configured:
        yield PostgresServer(configured)
        return
    server = ThrowawayPostgres()
    try:
        server.start()
    except PostgresUnavailable as e:
        postgres_missing(str(e))
    try:
        yield PostgresServer(server.admin_url)
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    return postgres_server.fresh_database_url()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.sqlite'}"


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        request.applymarker(pytest.mark.postgres)
        return str(request.getfixturevalue("postgres_url"))
    return f"sqlite:///{tmp_path / 'ledger.sqlite'}"


@pytest.fixture
def ledger(database_url: str) -> Iterator[Ledger]:
    opened = open_ledger(database_url)
    try:
        yield opened
    finally:
        opened.close()

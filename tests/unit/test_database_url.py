from __future__ import annotations

import pytest

from eventstore.errors import BadDatabaseUrl
from eventstore.url import PostgresUrl, SqliteUrl, parse_database_url


def test_the_default_is_a_relative_sqlite_file() -> None:
    assert parse_database_url("sqlite:///var/milkbot.sqlite") == SqliteUrl("var/milkbot.sqlite")
    assert parse_database_url("sqlite:////tmp/x.sqlite") == SqliteUrl("/tmp/x.sqlite")
    assert parse_database_url("sqlite:///:memory:").in_memory


def test_postgres_urls_keep_their_parts_and_hide_the_password() -> None:
    url = parse_database_url("postgresql://trader:p%40ss@db.internal:6543/ledger")
    assert url == PostgresUrl("db.internal", 6543, "ledger", "trader", "p@ss")
    assert "p@ss" not in repr(url) and "p@ss" not in url.redacted()
    assert parse_database_url("postgres://u@h/d").port == 5432


@pytest.mark.parametrize("text", ["", "mysql://h/d", "sqlite://relative", "sqlite:///",
                                  "postgresql://u:s3cr3t@h:notaport/d",
                                  "postgresql://u:s3cr3t@h/"])
def test_bad_urls_name_the_variable_and_never_the_password(text: str) -> None:
    with pytest.raises(BadDatabaseUrl) as caught:
        parse_database_url(text)
    assert "MILKBOT_DATABASE_URL" in str(caught.value)
    assert "s3cr3t" not in str(caught.value)

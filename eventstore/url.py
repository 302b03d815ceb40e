"""``MILKBOT_DATABASE_URL``: which database holds the ledger.

``sqlite:///var/milkbot.sqlite`` (relative path), ``sqlite:////abs/path.sqlite``, ``sqlite:///:memory:``
or ``postgresql://user:password@host:port/dbname`` (``postgres://`` too). Errors name the variable and
never repeat the password.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import SplitResult, parse_qs, unquote, urlsplit

from eventstore.errors import BadDatabaseUrl

VARIABLE = "MILKBOT_DATABASE_URL"
DEFAULT_URL = "sqlite:///var/milkbot.sqlite"


@dataclass(frozen=True)
class SqliteUrl:
    path: str  # a filesystem path or ":memory:"

    @property
    def in_memory(self) -> bool:
        return self.path == ":memory:"

    def redacted(self) -> str:
        return f"sqlite:///{self.path}"


@dataclass(frozen=True)
class PostgresUrl:
    host: str
    port: int
    dbname: str
    user: str
    password: str = field(repr=False)

    def redacted(self) -> str:
        return f"postgresql://{self.user}:***@{self.host}:{self.port}/{self.dbname}"


DatabaseUrl = SqliteUrl | PostgresUrl


def parse_database_url(url: str) -> DatabaseUrl:
    text = url.strip()
    if not text:
        raise BadDatabaseUrl(f"{VARIABLE} is empty; expected e.g. {DEFAULT_URL}")
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise BadDatabaseUrl(f"{VARIABLE} is not a valid URL (expected e.g. {DEFAULT_URL})") from None
    if parts.scheme == "sqlite":
        return _sqlite(text)
    if parts.scheme in ("postgresql", "postgres"):
        return _postgres(parts)
    raise BadDatabaseUrl(
        f"{VARIABLE} has scheme {parts.scheme!r}; use sqlite:///path or postgresql://..."
    )


def _sqlite(text: str) -> SqliteUrl:
    rest = text[len("sqlite:") :]
    if not rest.startswith("///"):
        raise BadDatabaseUrl(f"{VARIABLE}: write SQLite URLs as sqlite:///relative/path or "
                             "sqlite:////absolute/path")
    path = rest[3:]
    if not path:
        raise BadDatabaseUrl(f"{VARIABLE}: the SQLite URL names no file")
    if path == ":memory:":
        return SqliteUrl(":memory:")
    return SqliteUrl(str(Path(path)))


def _postgres(parts: SplitResult) -> PostgresUrl:
    dbname = unquote(parts.path.lstrip("/"))
    if not dbname:
        raise BadDatabaseUrl(f"{VARIABLE}: the PostgreSQL URL names no database")
    query = parse_qs(parts.query)
    host = unquote(parts.hostname or "") or query.get("host", ["127.0.0.1"])[0]
    return PostgresUrl(
        host=host,
        port=parts.port or 5432,
        dbname=dbname,
        user=unquote(parts.username or "") or "postgres",
        password=unquote(parts.password or ""),
    )

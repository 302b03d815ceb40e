"""A disposable PostgreSQL server on loopback, for the tests, the benchmarks and a Postgres demo.

Uses the installed PostgreSQL binaries (``MILKBOT_PG_BIN``, else the newest
``/usr/lib/postgresql/*/bin``, else ``pg_config --bindir``). PostgreSQL refuses to run as root, so as
root the server runs as the ``postgres`` system user. It listens on 127.0.0.1 (TCP, never a Unix
socket for clients) on a free port and is deleted on ``stop()``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg
from psycopg import sql


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL binaries here, or the server would not start."""


def find_bin_dir() -> Path:
    configured = os.environ.get("MILKBOT_PG_BIN")
    candidates = [Path(configured)] if configured else []
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True,
                         key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True)
        if out.returncode == 0:
            candidates.append(Path(out.stdout.strip()))
    for candidate in candidates:
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    raise PostgresUnavailable("no PostgreSQL binaries found (set MILKBOT_PG_BIN, or install "
                              "postgresql-15)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ThrowawayPostgres:
    def __init__(self, *, durable: bool = False, user: str = "milkbot") -> None:
        """``durable=False`` turns fsync off (tests); benchmarks keep PostgreSQL's defaults."""
        self._durable = durable
        self.user = user
        self.port = 0
        self._root: Path | None = None
        self._run_as: str | None = "postgres" if os.geteuid() == 0 else None

    @property
    def admin_url(self) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/postgres"

    def url(self, dbname: str) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{dbname}"

    def unix_socket_url(self, dbname: str) -> str:
        """The same database over the server's Unix socket (tests of socket-only behaviour)."""
        assert self._root is not None, "start() first"
        return f"postgresql://{self.user}@:{self.port}/{dbname}?host={self._root}"

    def start(self) -> ThrowawayPostgres:
        bin_dir = find_bin_dir()
        self._root = Path(tempfile.mkdtemp(prefix="milkbot-pg-"))
        data, log = self._root / "data", self._root / "server.log"
        if self._run_as:
            shutil.chown(self._root, user=self._run_as, group=self._run_as)
        self._run([str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", self.user,
                   "-E", "UTF8", "--no-sync", "--no-instructions"])
        self.port = _free_port()
        options = [f"-p {self.port}", "-c listen_addresses=127.0.0.1",
                   f"-c unix_socket_directories={self._root}", "-c max_connections=200"]
        if not self._durable:
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        self._run([str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60",
                   "-o", " ".join(options), "start"])
        return self

    def create_database(self, dbname: str) -> str:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
        return self.url(dbname)

    def stop(self) -> None:
        if self._root is None:
            return
        data = self._root / "data"
        if (data / "postmaster.pid").exists():
            self._run([str(find_bin_dir() / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w",
                       "stop"], check=False)
        shutil.rmtree(self._root, ignore_errors=True)
        self._root = None

    def _run(self, cmd: list[str], *, check: bool = True) -> None:
        result = subprocess.run(cmd, capture_output=True, text=True, user=self._run_as,
                                group=self._run_as, cwd=self._root)
        if check and result.returncode != 0:
            log = self._root / "server.log" if self._root else None
            tail = log.read_text()[-2000:] if log and log.exists() else ""
            raise PostgresUnavailable(
                f"{Path(cmd[0]).name} failed ({result.returncode}): "
                f"{result.stderr.strip() or result.stdout.strip()}\n{tail}".strip()
            )

    def __enter__(self) -> ThrowawayPostgres:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

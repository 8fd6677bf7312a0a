"""A throw-away PostgreSQL cluster for the tests: initdb + pg_ctl on 127.0.0.1, a free port and a
temporary directory, started once per test session; one fresh database per test.

PostgreSQL refuses to run as root, so when the tests run as root the cluster's commands run as
the `postgres` user (`runuser`), in a directory that user owns.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kpchain.devnet.anvil import free_port
from kpchain.indexer.tables import INDEX_TABLES
from kpchain.store import Base

Dump = dict[str, list[tuple[Any, ...]]]

# Ids are the order rows were written in, not part of what the index says: an authority term
# re-derived after a reorg gets a new id, an event indexed again after a rebuild too.
_VOLATILE = {"events": {"id"}, "authorities": {"id"}, "validators": {"id"}}


def postgres_bindir() -> Path | None:
    """The directory of PostgreSQL's server binaries (initdb, pg_ctl), or None."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        result = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        if result.returncode == 0:
            candidates.append(Path(result.stdout.strip()))
    # Debian puts the server in a versioned directory; the newest wins.
    versions = glob.glob("/usr/lib/postgresql/*/bin")
    candidates += sorted((Path(p) for p in versions), key=lambda p: _version(p), reverse=True)
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).resolve().parent)
    for directory in candidates:
        if (directory / "initdb").exists() and (directory / "pg_ctl").exists():
            return directory
    return None


def _version(bindir: Path) -> int:
    try:
        return int(bindir.parent.name.split(".")[0])
    except ValueError:
        return 0


class PostgresCluster:
    """A PostgreSQL cluster of its own: `start`, `create_database` per test, `stop`."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="kpchain-pg-"))
        self.data = self.root / "data"
        self._as_postgres = os.geteuid() == 0

    def start(self) -> PostgresCluster:
        if self._as_postgres:
            shutil.chown(self.root, user="postgres", group="postgres")
        self._run(
            "initdb",
            "-D", str(self.data),
            "-U", "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )  # fmt: skip
        # Durability is worthless for test data: no fsync makes the suite much faster.
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=200"
        )
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"),
            "-o", options, "-w", "-t", "60", "start",
        )  # fmt: skip
        return self

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new empty database; returns its URL."""
        name = f"test_{uuid.uuid4().hex[:12]}"
        with self._maintenance() as connection:
            connection.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
        return self.url(name)

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        with self._maintenance() as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]

    def _maintenance(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", autocommit=True
        )

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bindir / tool), *args]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, cwd=self.root)
        if result.returncode != 0:
            log = self.root / "log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(
                f"{tool} failed ({result.returncode}): {result.stderr.strip()}\n{tail}"
            )


def dump_index(sessions: sessionmaker[Session]) -> Dump:
    """Every index table's rows (ids and bookkeeping left out), sorted: equal dumps mean equal
    indexes."""
    tables: Dump = {}
    with sessions() as session:
        for name in INDEX_TABLES:
            table = Base.metadata.tables[name]
            columns = [c for c in table.columns if c.name not in _VOLATILE.get(name, set())]
            query = select(*columns)
            if name == "blocks":
                # Which blocks without events are kept depends on how the ranges fell.
                query = query.where(table.c.has_events.is_(True))
            rows = session.execute(query).all()
            tables[name] = sorted((tuple(row) for row in rows), key=repr)
    return tables

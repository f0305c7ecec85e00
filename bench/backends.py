"""The databases a benchmark runs on: a SQLite file in a temp dir, and PostgreSQL when configured.

Every benchmark gets a fresh database (``Backend.fresh``), so one benchmark's rows never
skew another's numbers. On PostgreSQL a database is created on the server named by
``BPM_BENCH_POSTGRES_URL`` (or ``DATABASE_URL``) and dropped afterwards, as the tests do.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from engine import Engine


def postgres_server_url() -> str | None:
    """Return the PostgreSQL server URL to create benchmark databases on, if any."""
    url = os.environ.get("BPM_BENCH_POSTGRES_URL") or ""
    if not url:
        db = os.environ.get("DATABASE_URL", "")
        url = db if db.startswith("postgresql") else ""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url or None


class Backend:
    """A kind of database the engine runs on."""

    name = "?"
    is_postgres = False

    @contextmanager
    def fresh(self, label: str) -> Iterator[str]:
        """Yield the URL of a new, empty database; remove it afterwards."""
        raise NotImplementedError
        yield ""  # pragma: no cover

    def version(self) -> str:
        """Return the server/library version."""
        raise NotImplementedError

    def size_bytes(self, engine: Engine) -> int:
        """Return the bytes the database occupies (all tables, indexes, and for SQLite the file)."""
        raise NotImplementedError

    def wal_position(self, engine: Engine) -> int | None:
        """Return a write-ahead-log byte position (PostgreSQL), to measure bytes written."""
        return None

    def close(self) -> None:
        """Release what the backend holds (temp dir, admin connection)."""


class SqliteBackend(Backend):
    """A SQLite file per benchmark in one temporary directory (WAL mode, as the engine sets it)."""

    name = "SQLite"

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="bpm-bench-")

    @contextmanager
    def fresh(self, label: str) -> Iterator[str]:
        path = Path(self._dir.name) / f"{label}-{uuid.uuid4().hex[:6]}.sqlite3"
        try:
            yield f"sqlite:///{path}"
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)

    def version(self) -> str:
        return sqlite3.sqlite_version

    def size_bytes(self, engine: Engine) -> int:
        # Move the WAL into the main file first, so the file size is the data size. The checkpoint must run
        # outside a transaction, so it goes through the DBAPI connection (autocommit, as the engine sets it up).
        raw = engine.db.raw_connection()
        try:
            raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        finally:
            raw.close()
        path = Path(str(engine.db.url.database))
        wal = Path(f"{path}-wal")
        return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)

    def close(self) -> None:
        self._dir.cleanup()


class PostgresBackend(Backend):
    """A fresh database per benchmark on a PostgreSQL server, dropped afterwards."""

    name = "PostgreSQL"
    is_postgres = True

    def __init__(self, server_url: str):
        self.server_url = server_url
        self.server = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")

    @contextmanager
    def fresh(self, label: str) -> Iterator[str]:
        name = f"bpm_bench_{label}_{uuid.uuid4().hex[:8]}"
        with self.server.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            yield self.server_url.rsplit("/", 1)[0] + "/" + name
        finally:
            with self.server.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def version(self) -> str:
        with self.server.connect() as conn:
            return str(conn.exec_driver_sql("SHOW server_version").scalar())

    def size_bytes(self, engine: Engine) -> int:
        with engine.db.connect() as conn:
            return int(conn.exec_driver_sql(
                "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r'").scalar())

    def wal_position(self, engine: Engine) -> int | None:
        with engine.db.connect() as conn:
            return int(conn.exec_driver_sql("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn").scalar())

    def close(self) -> None:
        self.server.dispose()


def available_backends(want_postgres: bool = True) -> tuple[list[Backend], list[str]]:
    """Return the backends to run on and notes about the ones skipped."""
    backends: list[Backend] = [SqliteBackend()]
    notes: list[str] = []
    url = postgres_server_url() if want_postgres else None
    if url is None:
        notes.append("PostgreSQL: not configured (set BPM_BENCH_POSTGRES_URL or DATABASE_URL); PostgreSQL rows are skipped.")
        return backends, notes
    try:
        backend = PostgresBackend(url)
        backend.version()
        backends.append(backend)
    except sa.exc.OperationalError as exc:
        notes.append(f"PostgreSQL: unreachable at {_redact(url)} ({exc.orig}); PostgreSQL rows are skipped.")
    return backends, notes


def _redact(url: str) -> str:
    return sa.engine.make_url(url).render_as_string(hide_password=True)


def table_row_counts(engine: Engine) -> dict[str, int]:
    """Return the row count of every engine table."""
    from engine.persistence import Base

    counts: dict[str, Any] = {}
    with engine.db.connect() as conn:
        for table in Base.metadata.sorted_tables:
            counts[table.name] = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
    return counts

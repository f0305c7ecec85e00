"""The database a test runs on, for tests that build their own Engine (with settings of their own): a SQLite file,
or — with BPM_TEST_BACKEND=postgres, as the ``engine`` fixture does — a fresh PostgreSQL database."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import fresh_postgres_database


@contextmanager
def database_url(sqlite_file: Path) -> Iterator[str]:
    """Yield the URL of the test's database: ``sqlite_file``, or a fresh PostgreSQL database dropped afterwards."""
    if os.environ.get("BPM_TEST_BACKEND") == "postgres":
        with fresh_postgres_database() as url:
            yield url
        return
    yield f"sqlite:///{sqlite_file}"

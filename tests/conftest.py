"""Shared fixtures: an Engine on a fresh SQLite file (or PostgreSQL), a manual clock, demo users."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import pytest

from engine import Engine, EngineConfig, ManualClock
from engine.config import PROJECT_ROOT, SHIPPED_CALENDARS, SHIPPED_FORMS
from engine.services.users import ensure_groups

TESTS = Path(__file__).resolve().parent
BPMN_DIR = TESTS / "bpmn"
SHARED_TESTDATA = PROJECT_ROOT.parent / "shared" / "testdata"
# Monday 2026-03-02 09:00 in Asia/Shanghai: a plain working day.
MONDAY_9AM = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)

DEMO_USERS = {
    "rep": ["cs_rep"], "rep2": ["cs_rep"], "assistant": ["cs_assistant"], "head": ["cs_head"], "vp": ["vp"],
    "ops": ["operations"], "gm": ["gm_office"], "fin": ["finance"], "designer": ["designer"], "auditor": ["auditor"],
    "admin": ["admin"],
}


def postgres_admin_url() -> str | None:
    """Return the PostgreSQL server URL tests may create databases on, if any."""
    url = os.environ.get("BPM_TEST_POSTGRES_URL")
    if url:
        return url
    db = os.environ.get("DATABASE_URL", "")
    return db if db.startswith("postgresql") else None


@pytest.fixture
def clock() -> ManualClock:
    """A clock that only moves when the test moves it."""
    return ManualClock(MONDAY_9AM)


def make_engine(url: str, clock: ManualClock, **overrides: object) -> Engine:
    """Build an Engine with the shipped forms and calendars and a fast retry backoff."""
    settings = {"forms_dir": SHIPPED_FORMS, "calendars_dir": SHIPPED_CALENDARS, **overrides}
    config = EngineConfig(database_url=url, **settings)  # type: ignore[arg-type]
    engine = Engine(config=config, clock=clock)
    engine.init()
    with engine.transaction() as session:
        ensure_groups(session)
    for name, groups in DEMO_USERS.items():
        engine.add_user(name, groups)
    return engine


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """Create a uniquely named PostgreSQL database, yield its URL, drop it afterwards (skip if unavailable)."""
    admin = postgres_admin_url()
    if not admin:
        pytest.skip("PostgreSQL not configured: set BPM_TEST_POSTGRES_URL (CI does) to run this test")
    import sqlalchemy as sa

    name = f"bpm_test_{uuid.uuid4().hex[:10]}"
    admin = admin.replace("postgresql://", "postgresql+psycopg://", 1) if admin.startswith("postgresql://") else admin
    server = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as exc:
        pytest.skip(f"PostgreSQL unreachable at {admin}: {exc.orig}")
    try:
        yield admin.rsplit("/", 1)[0] + "/" + name
    finally:
        with server.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        server.dispose()


@pytest.fixture
def engine(tmp_path: Path, clock: ManualClock) -> Iterator[Engine]:
    """An Engine with the groups of DOMAIN.md and one user per role.

    On a fresh SQLite file, or — with BPM_TEST_BACKEND=postgres (CI) — on a fresh PostgreSQL database.
    """
    if os.environ.get("BPM_TEST_BACKEND") == "postgres":
        with fresh_postgres_database() as url:
            eng = make_engine(url, clock)
            yield eng
            eng.close()
        return
    eng = make_engine(f"sqlite:///{tmp_path / 'bpm.sqlite3'}", clock)
    yield eng
    eng.close()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards; skips loudly without PostgreSQL."""
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture
def pg_engine(pg_url: str, clock: ManualClock) -> Iterator[Engine]:
    """An Engine on a fresh PostgreSQL database."""
    eng = make_engine(pg_url, clock)
    yield eng
    eng.close()


def deploy_fixture(engine: Engine, *names: str) -> None:
    """Deploy BPMN/DMN fixtures from tests/bpmn/."""
    engine.deploy([BPMN_DIR / n for n in names], actor="designer")

"""One request, one transaction: a session from the Engine per request, committed once by the app (a GET reads without one)."""

from __future__ import annotations

from datetime import datetime

from flask import current_app, g, has_request_context, request
from sqlalchemy.orm import Session

from engine import Engine

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ENGINE_KEY = "bpm_engine"


def get_engine() -> Engine:
    """Return the Engine this app was built with."""
    engine: Engine = current_app.extensions[ENGINE_KEY]
    return engine


def db() -> Session:
    """Return this request's session, opening it on first use: for a GET (HEAD, OPTIONS) one for reads only (no
    transaction: on SQLite no write lock, so page views never queue behind a writer or each other; a GET view that
    must write does it in a short ``get_engine().transaction()`` of its own)."""
    if "db_session" not in g:
        engine = get_engine()
        reading = has_request_context() and request.method in SAFE_METHODS
        g.db_session = engine.read_session() if reading else engine.session()
    session: Session = g.db_session
    return session


def commit() -> None:
    """Commit this request's transaction (the app does it after a successful mutating view)."""
    session: Session | None = g.get("db_session")
    if session is not None:
        session.commit()


def rollback() -> None:
    """Roll back this request's transaction, e.g. before re-rendering after an engine error."""
    session: Session | None = g.get("db_session")
    if session is not None:
        session.rollback()


def end_transaction() -> None:
    """Commit and close this request's session so an Engine command with its own transactions can run next.

    SQLite has one writer and the request's session holds its lock from the first query; call this
    before e.g. ``get_engine().save_calendar_days(...)`` (which commits once per instance it reschedules).
    """
    commit()
    close_session()


def close_session(_exc: BaseException | None = None) -> None:
    """Close the request's session; whatever was not committed is rolled back."""
    session: Session | None = g.pop("db_session", None)
    if session is not None:
        session.close()


def now() -> datetime:
    """Return the engine clock's time (tests move it; pages must agree with the engine)."""
    return get_engine().clock.now()

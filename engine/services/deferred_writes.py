"""Writes whose results a command does not read, sent together at commit: on PostgreSQL in one psycopg pipeline.

The commit hooks (the notification outbox, the audit chain) end in plain INSERTs and UPDATEs. Each sent on
its own costs a round trip to the server; deferred here, they go out back to back in pipeline mode and the
command waits once. They still run inside the command's transaction, before COMMIT, in the order deferred, so
an error in any of them rolls the whole command back as before. SQLite (in-process, no round trips) runs them
one after the other. On PostgreSQL the COMMIT itself joins that pipeline when the audit hook (the last one) sends
them for the outermost transaction and nothing is left to flush: a write command then waits once at commit, not twice.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Executable, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from engine.persistence.driver import send_write, session_connection

WRITES_KEY = "bpm_deferred_writes"


def defer(session: Session, statement: Executable, params: Any = None) -> None:
    """Send ``statement`` (with ``params``: a dict, or a list of dicts for executemany) at commit.

    Its result is never read: an INSERT must not ask for generated keys back (``insert(...).inline()``). It is built
    once (a module constant): it goes out on the DB-API cursor, compiled once per dialect (engine.persistence.driver).
    """
    session.info.setdefault(WRITES_KEY, []).append((statement, params))


def run_deferred(session: Session, *, last: bool = False) -> None:
    """Send the deferred writes now, in order (PostgreSQL: pipelined, one wait for all of them).

    ``last``: the caller is the last commit hook of the outermost transaction. On PostgreSQL the COMMIT then goes
    in the same pipeline (one wait instead of two), provided nothing is left for the session to flush after the
    hooks; SQLAlchemy's own COMMIT that follows finds the transaction ended and sends nothing.
    """
    writes: list[tuple[Executable, Any]] = session.info.pop(WRITES_KEY, None) or []
    if not writes:
        return
    connection = session_connection(session)
    driver: Any = connection.connection.driver_connection
    commit = last and not session.in_nested_transaction() and not (session.new or session.dirty or session.deleted)
    if (len(writes) == 1 and not commit) or connection.dialect.name != "postgresql" or not hasattr(driver, "pipeline"):
        for statement, params in writes:
            send_write(connection, statement, params)
        return
    import psycopg

    try:
        with driver.pipeline():
            for statement, params in writes:
                send_write(connection, statement, params)
            if commit:
                driver.commit()
    except psycopg.Error as exc:  # raised when the pipeline syncs, outside SQLAlchemy's own wrapping
        raise DBAPIError.instance(None, None, exc, psycopg.Error) from exc


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(WRITES_KEY, None)

"""A command's own writes sent together: on PostgreSQL in one psycopg pipeline, waited for once.

A completion writes its instance (version-checked), the new task rows and the completed task: three statements whose
results it needs only as row counts. Sent one by one they cost three round trips to the server; inside
:func:`write_batch` they go out back to back and the command waits once, at the end of the block, where the row counts
are checked (a write that matched no row raises the Conflict it stands for). SQLite (in-process, no round trips)
runs and checks each statement as it comes.

Inside the block only statements that return nothing may run: no SELECT, no RETURNING, no ORM flush.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from engine.persistence.driver import Sent, session_connection


class WriteBatch:
    """The row counts a block of writes expects, checked as they come or (pipelined) when the block ends."""

    def __init__(self, pipelined: bool) -> None:
        self.pipelined = pipelined
        self._checks: list[tuple[Any, Callable[[], Exception]]] = []

    def expect_one(self, result: Any, error: Callable[[], Exception]) -> None:
        """Say that the statement behind ``result`` must have changed exactly one row; otherwise raise ``error()``."""
        if self.pipelined:
            self._checks.append((result, error))
        elif result.rowcount != 1:
            raise error()

    def check(self, *, failed: bool = False) -> None:
        """Raise the error of the first statement that did not change its one row (the pipeline has synced).

        ``failed``: a statement of the batch failed; those from it on never ran (no count): only a statement that ran
        and matched no row is reported."""
        for result, error in self._checks:
            # SQLAlchemy read the count before the pipeline synced; the driver's cursor has it now.
            count = result.rowcount if isinstance(result, Sent) else result.context.cursor.rowcount
            if count == 0 or (count != 1 and not failed):
                raise error()


@contextmanager
def write_batch(session: Session) -> Iterator[WriteBatch]:
    """Run the block's writes as one batch (PostgreSQL: one pipeline) and check the row counts they expect."""
    connection = session_connection(session)
    driver: Any = connection.connection.driver_connection
    if connection.dialect.name != "postgresql" or not hasattr(driver, "pipeline"):
        yield WriteBatch(pipelined=False)
        return
    import psycopg

    batch = WriteBatch(pipelined=True)
    try:
        with driver.pipeline():
            yield batch
    except (psycopg.Error, DBAPIError) as exc:
        # A write that matched no row explains what failed after it (the loser of a race on an instance meets the
        # winner's new task rows as a duplicate key): report the Conflict, not the error it caused. The error comes
        # from a later statement of the block (SQLAlchemy's wrapping) or from the sync at its end (psycopg's own).
        batch.check(failed=True)
        if isinstance(exc, DBAPIError):
            raise
        raise DBAPIError.instance(None, None, exc, psycopg.Error) from exc
    batch.check()

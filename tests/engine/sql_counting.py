"""Counting the SQL statements a block sends (the write-path and fire-path tests pin those counts, never timings)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from engine import Engine


@contextmanager
def counting(engine: Engine) -> Iterator[list[str]]:
    """Collect the SQL statements sent while the block runs (whitespace collapsed)."""
    sent: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(" ".join(statement.split()))

    event.listen(engine.db, "before_cursor_execute", before)
    try:
        yield sent
    finally:
        event.remove(engine.db, "before_cursor_execute", before)

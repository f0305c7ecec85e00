"""Writes sent on the DB-API cursor: an INSERT or UPDATE that returns no rows, compiled once per dialect.

SQLAlchemy's execution path costs far more than the database work of a small write (on SQLite a one-row UPDATE
takes 17 µs through a session and under 2 µs on the cursor; see bench/README.md). The writes of every command (the
instance and task rows, audit events, chain heads, notifications) read back at most a row count, so they need none
of it: the statement is compiled once for the dialect and the parameter names given, its bind processors (JSON, UTC
datetimes) convert the values as SQLAlchemy would, and the cursor gets them. The connection's ``before_cursor_execute`` and
``after_cursor_execute`` listeners still see every statement (the read-only guard, statement counts), and a driver
error is raised as SQLAlchemy's own ``DBAPIError`` subclass, as from ``Connection.execute``.

A statement that needs more than that (Python-side column defaults, expanding parameters, a parameter nobody gives,
RETURNING) is sent through ``Connection.execute`` as before.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from typing import Any, cast

from sqlalchemy import ClauseElement, Connection, Executable
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError


class _Compiled:
    """A statement compiled for one dialect and one set of parameter names: its SQL and how to convert a row."""

    def __init__(self, sql: str, order: tuple[str, ...] | None, names: dict[str, str], processors: Mapping[str, Any],
                 constants: dict[str, Any]):
        self.sql, self.order, self.names, self.processors = sql, order, names, processors
        self.constants = constants  # the statement's own values (``status == "open"``), the same for every row

    def convert(self, given: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        """Return ``given`` as the driver takes it: a tuple in the SQL's order (qmark) or a dict by the SQL's names."""
        processors = self.processors
        row = {**self.constants, **given} if self.constants else given
        if self.order is not None:
            return tuple(processors[k](row[k]) if k in processors else row[k] for k in self.order)
        return {name: processors[k](row[k]) if k in processors else row[k] for k, name in self.names.items()}


# Per dialect object (an engine's own: its JSON serializer is part of it), per statement, per parameter names. The
# entry holds its statement, so no other statement can take over its id while it is cached.
_CACHE: weakref.WeakKeyDictionary[Dialect, dict[tuple[int, tuple[str, ...]], tuple[Executable, _Compiled | None]]] = (
    weakref.WeakKeyDictionary())


def _compiled(dialect: Dialect, statement: Executable, keys: tuple[str, ...]) -> _Compiled | None:
    by_statement = _CACHE.setdefault(dialect, {})
    cache_key = (id(statement), keys)
    cached = by_statement.get(cache_key)
    if cached is not None and cached[0] is statement:
        return cached[1]
    compiled: Any = cast(ClauseElement, statement).compile(dialect=dialect, column_keys=list(keys))
    needed = tuple(compiled.positiontup) if compiled.positional else tuple(compiled.bind_names.values())
    own = set(needed) - set(keys)  # parameters the statement carries its values for, or that nobody gives
    plain = (not (compiled.insert_prefetch or compiled.update_prefetch or compiled.literal_execute_params
                  or compiled.post_compile_params or compiled.schema_translate_map or compiled.returning)
             and set(keys) <= set(needed) and not any(compiled.binds[name].required for name in own))
    found = None
    if plain:
        escaped = compiled.escaped_bind_names or {}
        found = _Compiled(compiled.string, needed if compiled.positional else None,
                          {k: escaped.get(k, k) for k in needed}, compiled._bind_processors,
                          {name: compiled.binds[name].effective_value for name in own})
    by_statement[cache_key] = (statement, found)
    return found


class Sent:
    """What a write sent on the cursor tells: its row count (in a psycopg pipeline, known once the pipeline synced)."""

    def __init__(self, cursor: Any, count: int | None):
        self.cursor, self._count = cursor, count

    @property
    def rowcount(self) -> int:
        """The rows the statement changed (the driver's count; -1 when it has none)."""
        return int(self.cursor.rowcount if self._count is None else self._count)


def send_write(connection: Connection, statement: Executable,
               params: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> Any:
    """Send ``statement`` (a module-level INSERT/UPDATE that returns no rows) with ``params`` (one row or a list for
    executemany), on the DB-API cursor when it can be, else through ``connection.execute``; return what has its
    ``rowcount`` (a :class:`Sent`, or SQLAlchemy's result).

    ``statement`` must be built once (a module constant): it is compiled once per dialect, keyed by its identity. It
    runs as it is, with no autoflush of a session's pending changes first (as ``session.execute`` would do).
    """
    rows: Sequence[Mapping[str, Any]] = params if isinstance(params, list) else [params]  # type: ignore[list-item]
    compiled = _compiled(connection.dialect, statement, tuple(sorted(rows[0]))) if rows else None
    if compiled is None or any(row.keys() != rows[0].keys() for row in rows):
        return connection.execute(statement, params)
    values = [compiled.convert(row) for row in rows]
    return _send(connection, compiled.sql, values if len(values) > 1 else values[0], many=len(values) > 1)


def _send(connection: Connection, sql: str, params: Any, *, many: bool) -> Sent:
    driver: Any = connection.connection.driver_connection
    # In a psycopg pipeline the cursor's results (and row count) arrive at the sync: it stays open until then.
    piped = connection.dialect.name == "postgresql" and driver.pgconn.pipeline_status != 0
    cursor = driver.cursor()
    try:
        connection.dispatch.before_cursor_execute(connection, cursor, sql, params, None, many)
        try:
            if many:
                cursor.executemany(sql, params)
            else:
                cursor.execute(sql, params)
        except connection.dialect.loaded_dbapi.Error as exc:
            raise DBAPIError.instance(sql, params, exc, connection.dialect.loaded_dbapi.Error) from exc
        connection.dispatch.after_cursor_execute(connection, cursor, sql, params, None, many)
        return Sent(cursor, None if piped else cursor.rowcount)
    finally:
        if not piped:
            cursor.close()

"""Statements sent on the DB-API cursor, compiled once per dialect: writes (an INSERT or UPDATE that returns no
rows) and the hot reads of every command (a plain Core SELECT).

SQLAlchemy's execution path costs far more than the database work of a small write (on SQLite a one-row UPDATE
takes 17 µs through a session and under 2 µs on the cursor; see bench/README.md). The writes of every command (the
instance and task rows, audit events, chain heads, notifications) read back at most a row count, so they need none
of it: the statement is compiled once for the dialect and the parameter names given, its bind processors (JSON, UTC
datetimes) convert the values as SQLAlchemy would, and the cursor gets them. The connection's ``before_cursor_execute`` and
``after_cursor_execute`` listeners still see every statement (the read-only guard, statement counts), and a driver
error is raised as SQLAlchemy's own ``DBAPIError`` subclass, as from ``Connection.execute``.

A read (:func:`read_rows`) is the same: its parameters converted as for a write, its rows converted by the result
processors of its columns' types (SQLite's JSON and UTC datetimes; psycopg converts most values itself), and returned
as :class:`Record` objects, the columns as attributes. psycopg builds no ``cursor.description`` for it.

An INSERT … RETURNING is read the same way. A statement that needs more than that (Python-side column defaults,
expanding parameters, a parameter nobody gives, an ORM entity; a write whose returned rows are not read) is sent
through ``Connection.execute`` as before.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import ClauseElement, CompoundSelect, Connection, Executable, Select
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session


class _Compiled:
    """A statement compiled for one dialect and one set of parameter names: its SQL and how to convert a row."""

    def __init__(self, sql: str, order: tuple[str, ...] | None, names: dict[str, str], processors: Mapping[str, Any],
                 constants: dict[str, Any]):
        self.sql, self.order, self.names, self.processors = sql, order, names, processors
        self.constants = constants  # the statement's own values (``status == "open"``), the same for every row
        # Each value in the SQL's order (qmark) with its bind processor, or None.
        self.plan = tuple((k, processors.get(k)) for k in order) if order is not None else ()
        # What a SELECT (or RETURNING) gives: its column keys, and (position, processor) for each column to convert.
        self.columns: tuple[str, ...] = ()
        self.results: tuple[tuple[int, Any], ...] = ()

    def convert(self, given: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        """Return ``given`` as the driver takes it: a list in the SQL's order (qmark) or a dict by the SQL's names."""
        processors = self.processors
        row = {**self.constants, **given} if self.constants else given
        if self.order is not None:
            return [row[k] if p is None else p(row[k]) for k, p in self.plan]
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
                  or compiled.post_compile_params or compiled.schema_translate_map)
             and set(keys) <= set(needed) and not any(compiled.binds[name].required for name in own))
    found = None
    if plain:
        escaped = compiled.escaped_bind_names or {}
        found = _Compiled(compiled.string, needed if compiled.positional else None,
                          {k: escaped.get(k, k) for k in needed}, compiled._bind_processors,
                          {name: compiled.binds[name].effective_value for name in own})
        if isinstance(statement, (Select, CompoundSelect)) and not _result_columns(found, statement, dialect, compiled):
            found = None
        elif compiled.returning:
            _returned_columns(found, dialect, compiled)
    by_statement[cache_key] = (statement, found)
    return found


def _result_columns(found: _Compiled, statement: Select[Any] | CompoundSelect[Any], dialect: Dialect,
                    compiled: Any) -> bool:
    """Give ``found`` the keys and result processors of a Core SELECT's (or UNION's) columns; False for one the cursor path cannot
    read (an ORM entity, columns of the same key, a result column count that does not match its SQL's)."""
    if statement._propagate_attrs.get("compile_state_plugin") == "orm":
        return False
    columns = list(statement.selected_columns)
    keys = tuple(str(column.key) for column in columns)
    if len(set(keys)) != len(keys) or len(compiled._result_columns) != len(keys):
        return False
    processors = [column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns]
    found.columns = keys
    found.results = tuple((i, p) for i, p in enumerate(processors) if p is not None)
    return True


def _returned_columns(found: _Compiled, dialect: Dialect, compiled: Any) -> None:
    """Give ``found`` the keys and result processors of an INSERT's or UPDATE's RETURNING columns."""
    returned = compiled._result_columns
    found.columns = tuple(str(column[0]) for column in returned)
    processors = [column[3].dialect_impl(dialect).result_processor(dialect, None) for column in returned]
    found.results = tuple((i, p) for i, p in enumerate(processors) if p is not None)


class Record:
    """A row read on the cursor: its columns as attributes, by their keys (a command may set one it changed)."""

    def __init__(self, values: Iterable[tuple[str, Any]]):
        self.__dict__.update(values)

    def __repr__(self) -> str:
        return f"Record({self.__dict__!r})"

    if TYPE_CHECKING:
        def __getattr__(self, name: str) -> Any: ...


def read_rows(connection: Connection, statement: Executable, params: Mapping[str, Any]) -> list[Record]:
    """Run ``statement`` (a module-level Core SELECT, or an INSERT … RETURNING; built once) with ``params``; return its
    rows as Records, read on the DB-API cursor when it can be (see the module's docstring), else through
    ``connection.execute``."""
    compiled = _compiled(connection.dialect, statement, tuple(sorted(params)))
    if compiled is None or not compiled.columns:
        return [Record(row._asdict().items()) for row in connection.execute(statement, params)]
    given = compiled.convert(params)
    driver: Any = connection.connection.driver_connection
    cursor = driver.cursor()
    try:
        connection.dispatch.before_cursor_execute(connection, cursor, compiled.sql, given, None, False)
        try:
            cursor.execute(compiled.sql, given)
            fetched = cursor.fetchall()
        except connection.dialect.loaded_dbapi.Error as exc:
            raise DBAPIError.instance(compiled.sql, given, exc, connection.dialect.loaded_dbapi.Error) from exc
        connection.dispatch.after_cursor_execute(connection, cursor, compiled.sql, given, None, False)
    finally:
        cursor.close()
    keys, results = compiled.columns, compiled.results
    if not results:
        return [Record(zip(keys, row, strict=True)) for row in fetched]
    records = []
    for row in fetched:
        values = list(row)
        for i, processor in results:
            values[i] = processor(values[i])
        records.append(Record(zip(keys, values, strict=True)))
    return records


def session_rows(session: Session, statement: Executable, params: Mapping[str, Any]) -> list[Record]:
    """:func:`read_rows` on a session's connection, after the autoflush ``session.execute`` would do (the session's
    pending changes are sent first, so the read sees them)."""
    if session.autoflush:
        session.flush()
    return read_rows(session_connection(session), statement, params)


_CONNECTION_KEY = "bpm_connection"


def session_connection(session: Session) -> Connection:
    """Return ``session.connection()``, kept for the rest of the session's transaction: asking the session again
    for each of a command's statements costs more than many of them (see bench/README.md)."""
    kept = session.info.get(_CONNECTION_KEY)
    transaction = session.get_transaction()
    if kept is not None and transaction is not None and kept[0] is transaction:
        return kept[1]  # type: ignore[no-any-return]
    connection = session.connection()
    # The entry holds its transaction: no later transaction can be that object while it is kept.
    session.info[_CONNECTION_KEY] = (session.get_transaction(), connection)
    return connection


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
    if compiled is None or compiled.columns or any(row.keys() != rows[0].keys() for row in rows):
        return connection.execute(statement, params)  # what needs more, or returns rows (RETURNING)
    values = [compiled.convert(row) for row in rows]
    return _send(connection, compiled.sql, values if len(values) > 1 else values[0], many=len(values) > 1)


def send_sql(connection: Connection, sql: str) -> None:
    """Send one SQL text without parameters or rows (``BEGIN IMMEDIATE``) on the cursor, its listeners told."""
    _send(connection, sql, (), many=False)


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

"""Rate limits shared by every web process: Flask-Limiter over the engine's database (default) or Redis.

Flask-Limiter keeps its counters in a `limits` storage named by a URI. ``bpmdb://`` is this module's storage: a
fixed-window counter per key in the ``rate_limit_counter`` table, incremented by one upsert, so several gunicorn
workers and machines count together without another server. ``BPM_RATELIMIT_STORAGE_URL=redis://host:6379`` uses Redis
instead (the `redis` package must be installed: ``pip install 'bpm-cs[redis]'``).

Limits (each a Flask-Limiter string such as ``"5 per 10 minutes"``; an empty string switches one off):
portal reports and tracking look-ups per client address, sign-in attempts per client address (on top of the per-account
lockout), and — only when ``BPM_API_RATE_LIMIT`` is set — API calls per token or client.

Behind a reverse proxy every request comes from the proxy's address: wrap the app in werkzeug's ``ProxyFix`` so
``remote_addr`` is the client's, or all clients share one allowance.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits.storage import Storage
from sqlalchemy import Engine as SqlEngine
from sqlalchemy import case, create_engine, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from engine.persistence import RateLimitCounter

log = logging.getLogger(__name__)
DATABASE_SCHEME = "bpmdb"
SWEEP_EVERY = 500  # hits counted by one process between deletions of ended windows
_TABLE = RateLimitCounter.__table__


class DatabaseStorage(Storage):
    """A `limits` storage in the engine's database: fixed windows, one upsert per hit."""

    STORAGE_SCHEME = [DATABASE_SCHEME]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, *, engine: SqlEngine | None = None,
                 clock: Callable[[], float] = time.time, **options: Any):
        super().__init__(uri, wrap_exceptions=wrap_exceptions)
        if engine is None:
            raise ValueError("the bpmdb:// rate-limit storage needs the engine's database (storage option 'engine')")
        self.db, self.clock = engine, clock
        self._hits_since_sweep = 0
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return SQLAlchemyError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Count ``amount`` hits on ``key`` in its window (a new window of ``expiry`` s when the last one ended)."""
        now = self.clock()
        row = _TABLE.c
        stmt = self._insert(_TABLE).values(key=key, count=amount, expires_at=now + expiry)
        fresh = row.expires_at <= now
        stmt = stmt.on_conflict_do_update(
            index_elements=[row.key],
            set_={"count": case((fresh, amount), else_=row.count + amount),
                  "expires_at": case((fresh, now + expiry), else_=row.expires_at)},
        ).returning(_TABLE.c.count)
        with self.db.begin() as conn:
            count = int(conn.execute(stmt).scalar_one())
        self._hits_since_sweep += 1
        if self._hits_since_sweep >= SWEEP_EVERY:
            self._hits_since_sweep = 0
            self.forget_expired()
        return count

    def get(self, key: str) -> int:
        """Return the hits counted on ``key`` in its current window."""
        with self.db.connect() as conn:
            found = conn.execute(select(_TABLE.c.count, _TABLE.c.expires_at).where(_TABLE.c.key == key)).first()
        return int(found[0]) if found is not None and found[1] > self.clock() else 0

    def get_expiry(self, key: str) -> float:
        """Return when ``key``'s window ends (epoch seconds)."""
        with self.db.connect() as conn:
            expires = conn.execute(select(_TABLE.c.expires_at).where(_TABLE.c.key == key)).scalar()
        return float(expires) if expires is not None and expires > self.clock() else self.clock()

    def check(self) -> bool:
        """Return True if the database answers."""
        try:
            with self.db.connect() as conn:
                conn.execute(select(1))
            return True
        except SQLAlchemyError:
            return False

    def reset(self) -> int | None:
        """Forget every counter."""
        with self.db.begin() as conn:
            return conn.execute(delete(_TABLE)).rowcount

    def clear(self, key: str) -> None:
        """Forget ``key``'s counter."""
        with self.db.begin() as conn:
            conn.execute(delete(_TABLE).where(_TABLE.c.key == key))

    def forget_expired(self) -> int:
        """Delete the counters of ended windows (the table keeps only clients seen in the last window)."""
        with self.db.begin() as conn:
            return conn.execute(delete(_TABLE).where(_TABLE.c.expires_at <= self.clock())).rowcount


# (endpoint, config key of its limit, the methods counted; None: all)
ROUTE_LIMITS: list[tuple[str, str, list[str] | None]] = [
    ("portal.submit", "PORTAL_SUBMIT_RATE_LIMIT", None),
    ("portal.track", "PORTAL_TRACK_RATE_LIMIT", ["POST"]),
    # Questionnaire links (#17): answering counts like a report, opening a link like a tracking look-up.
    ("portal_questionnaires.answer", "PORTAL_SUBMIT_RATE_LIMIT", None),
    ("portal_questionnaires.show", "PORTAL_TRACK_RATE_LIMIT", None),
    ("auth.login", "SIGNIN_RATE_LIMIT", ["POST"]),
]
LIMITER_KEY = "bpm_limiter"


def limit_of(name: str) -> Callable[[], str]:
    """Return a callable reading the limit ``name`` from the app's config at request time."""
    return lambda: str(current_app.config.get(name) or "")


def disabled(name: str) -> Callable[[], bool]:
    """Return a callable that exempts a request when the limit ``name`` is switched off (empty)."""
    return lambda: not current_app.config.get(name)


def api_client() -> str:
    """Key API limits by the bearer token (a prefix of it) when one is presented, else by the client address."""
    header = request.headers.get("Authorization", "")
    return f"token:{header[7:23]}" if header.startswith("Bearer ") else get_remote_address()


def _counter_database(database: SqlEngine) -> SqlEngine:
    """Return the connection pool for counters: on SQLite its own, with plain transactions.

    The engine's SQLite connections begin every transaction IMMEDIATE, so a request holds the write lock from its first
    query to its end. The limiter reads its window after the view (for the X-RateLimit headers), while the request's
    transaction is still open: through the same kind of connection it would wait for that very request. WAL lets a
    plain reader through, and a counter's own short write waits only for other writers.
    """
    if database.dialect.name != "sqlite":
        return database
    return create_engine(database.url, connect_args={"timeout": 30, "check_same_thread": False})


def init_app(app: Flask, database: SqlEngine) -> Limiter:
    """Give the app its limiter (counters in the engine's database unless ``RATELIMIT_STORAGE_URI`` names another
    store) and limit the portal, the sign-in form and — when configured — the API; call after registering them."""
    app.config.setdefault("RATELIMIT_STORAGE_URI", f"{DATABASE_SCHEME}://")
    if app.config["RATELIMIT_STORAGE_URI"].startswith(f"{DATABASE_SCHEME}://"):
        app.config["RATELIMIT_STORAGE_OPTIONS"] = {**app.config.get("RATELIMIT_STORAGE_OPTIONS", {}),
                                                   "engine": _counter_database(database)}
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    # A store that does not answer must not take the portal and sign-in down with it: log, and let the request pass.
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    # One limiter per app (not a module global): its store is the app's own database.
    limiter = Limiter(key_func=get_remote_address, app=app)
    for endpoint, name, methods in ROUTE_LIMITS:
        if endpoint in app.view_functions:
            app.view_functions[endpoint] = limiter.limit(limit_of(name), methods=methods,
                                                         exempt_when=disabled(name))(app.view_functions[endpoint])
    for blueprint in app.blueprints.values():
        if blueprint.url_prefix and blueprint.url_prefix.startswith("/api/v1"):
            # Off unless BPM_API_RATE_LIMIT is set: integrations hold trusted tokens, and counting costs a write.
            limiter.limit(limit_of("API_RATE_LIMIT"), key_func=api_client,
                          exempt_when=disabled("API_RATE_LIMIT"))(blueprint)
    api = frozenset(name for name, blueprint in app.blueprints.items()
                    if blueprint.url_prefix and blueprint.url_prefix.startswith("/api/v1"))
    unlimited = lambda: _unlimited(current_app.config, request.endpoint, request.blueprint, api)  # noqa: E731
    limiter.request_filter(unlimited)
    _check_only_when_limited(app, limiter, unlimited)
    app.extensions[LIMITER_KEY] = limiter
    return limiter


def _check_only_when_limited(app: Flask, limiter: Limiter, unlimited: Callable[[], bool]) -> None:
    """Put a guard in front of Flask-Limiter's before-request check: most requests (pages, the inbox, the API while
    ``API_RATE_LIMIT`` is off) have no limit, and the check resolves the endpoint's limits before it asks the filter."""
    hooks = app.before_request_funcs.setdefault(None, [])
    check = limiter._check_request_limit  # Flask-Limiter's own hook (registered by Limiter(app=…))
    if check not in hooks:
        raise RuntimeError("Flask-Limiter no longer registers _check_request_limit as a before-request hook")

    def check_when_limited() -> None:
        if not unlimited():
            check()

    hooks[hooks.index(check)] = check_when_limited


_LIMITED_ENDPOINTS = {endpoint: name for endpoint, name, _methods in ROUTE_LIMITS}
# Limits Flask-Limiter applies beyond ours, when an operator sets them in the app's config: then every request is checked.
_WIDE_LIMITS = ("RATELIMIT_DEFAULT", "RATELIMIT_APPLICATION", "RATELIMIT_META")


def _unlimited(config: Any, endpoint: str | None, blueprint: str | None, api: frozenset[str]) -> bool:
    """Return True when no limit applies to the request, so Flask-Limiter skips resolving them (most requests: pages,
    the inbox, the API while ``API_RATE_LIMIT`` is off). Read per request, as the limits themselves are."""
    if any(config.get(name) for name in _WIDE_LIMITS):
        return False
    if endpoint in _LIMITED_ENDPOINTS:
        return not config.get(_LIMITED_ENDPOINTS[endpoint])
    return not (blueprint in api and config.get("API_RATE_LIMIT"))

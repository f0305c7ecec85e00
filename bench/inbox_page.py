"""Inbox page: GET / (the rendered inbox) and GET /api/v1/tasks (the API's inbox) at 10,000 and 100,000 open tasks.

The rows are those of :mod:`bench.inbox` (bulk-inserted, 20 users in 2 groups each, tasks over
all groups). The web app runs under a real gunicorn (:mod:`bench.server`); each user signs
in once through the sign-in form, then every user in turn asks for their inbox page, and for
the same inbox through the API with their bearer token.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.backends import Backend
from bench.context import Context
from bench.harness import build_engine
from bench.inbox import GROUPS, USERS, analyze, bulk_insert, prepare
from bench.report import Table, ms, percentile
from bench.server import HttpClient, Reply, Server, expect, gunicorn
from engine import Engine
from engine.passwords import hash_password
from engine.services.tokens import create_token

SECTION = "Inbox page"
PASSWORD = "bench-inbox-page"  # noqa: S105 - a throwaway database's users
WARM_UP = 10
TASK_LINK = b'class="task-title"'  # one per task row of web/templates/inbox/index.html
PAGE, API = "GET / (inbox page)", "GET /api/v1/tasks (API inbox)"


@dataclass
class Timings:
    """Request times, response sizes and tasks listed of one kind of request."""

    seconds: list[float] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    listed: list[int] = field(default_factory=list)

    def timed(self, send: Callable[..., Reply], *args: str) -> Reply:
        """Call ``send(*args)`` and keep its wall time and body size."""
        start = time.perf_counter()
        reply = send(*args)
        self.seconds.append(time.perf_counter() - start)
        self.sizes.append(len(reply.body))
        return reply


def run(ctx: Context) -> list[Table]:
    """Fill the inbox to each size and time the page and the API listing on every backend."""
    table = Table(SECTION, "The inbox page and the API inbox under gunicorn, one request per user in turn", [
        "backend", "open tasks", "request", "requests", "p50 ms", "p95 ms", "max ms", "response bytes (mean)",
        "tasks listed (mean)"])
    server_label = ""
    for backend in ctx.backends:
        with backend.fresh("inbox_page") as url:
            engine = build_engine(url)
            try:
                server_label = _measure(ctx, backend, engine, url, table)
            finally:
                engine.close()
    table.notes += [
        f"Server: {server_label}, a subprocess on 127.0.0.1; one client connection per user, timed by the client "
        "(connect, request, whole response).",
        f"{len(USERS)} users, each in 2 of the {len(GROUPS)} groups, signed in once through the sign-in form (CSRF token "
        f"from GET /login, POST /login); then {WARM_UP} warm-up rounds and one page + one API request per user in turn.",
        "Rows as in the inbox query benchmark (bench/inbox.py): bulk-inserted, 25% assigned, 70% with a due date; "
        "PostgreSQL gets VACUUM ANALYZE after the insert (as autovacuum would). Both requests use their default page size (25 tasks) and filters.",
        "The page also runs the navigation's inbox counts, the process filter menu and the definitions' names.",
    ]
    return [table]


def _measure(ctx: Context, backend: Backend, engine: Engine, url: str, table: Table) -> str:
    """Fill, serve, sign everyone in, then time each size; return the server's label."""
    definition_id = prepare(engine, hash_password(PASSWORD))
    with engine.transaction() as session:
        tokens = {user: create_token(session, user, "system", name="bench").secret for user in USERS}
    rng = random.Random(42)  # noqa: S311 - reproducible test data, not security
    filled = 0
    with gunicorn(url, ctx.settings.http_workers) as server:
        browsers = _sign_in(server)
        api = HttpClient(server.port)
        try:
            for size in ctx.settings.inbox_sizes:
                ctx.log(f"{backend.name}: inbox page, filling to {size:,} open tasks")
                bulk_insert(engine, definition_id, filled, size - filled, rng)
                filled = size
                analyze(engine, backend)
                page, listing = _time_inboxes(ctx.settings.inbox_page_requests, browsers, api, tokens)
                _report(ctx, backend, size, table, page, listing)
        finally:
            for client in [api, *browsers.values()]:
                client.close()
        return server.label


def _sign_in(server: Server) -> dict[str, HttpClient]:
    """Sign every user in through the sign-in form; return a client (with its session cookie) per user."""
    browsers = {}
    for user in USERS:
        browsers[user] = HttpClient(server.port)
        browsers[user].sign_in(user, PASSWORD)
    return browsers


def _time_inboxes(requests: int, browsers: dict[str, HttpClient], api: HttpClient,
                  tokens: dict[str, str]) -> tuple[Timings, Timings]:
    """Ask for each user's inbox page and API inbox in turn; time all but the warm-up rounds."""
    users = list(USERS)
    page, listing = Timings(), Timings()
    for q in range(WARM_UP + requests):
        user = users[q % len(users)]
        page_times, api_times = (page, listing) if q >= WARM_UP else (Timings(), Timings())
        shown = expect(page_times.timed(browsers[user].send, "GET", "/"), 200, f"inbox page of {user}")
        page_times.listed.append(shown.body.count(TASK_LINK))
        reply = expect(api_times.timed(api.api, "GET", "/api/v1/tasks", tokens[user]), 200, f"API inbox of {user}")
        api_times.listed.append(len(reply.json()["items"]))
    return page, listing


def _report(ctx: Context, backend: Backend, size: int, table: Table, page: Timings, listing: Timings) -> None:
    """Add the two rows of one size and put the p95s into ctx.metrics."""
    key = backend.name.lower()
    for label, t in ((PAGE, page), (API, listing)):
        table.add(backend.name, size, label, len(t.seconds), ms(percentile(t.seconds, 50)), ms(percentile(t.seconds, 95)),
                  ms(max(t.seconds)), sum(t.sizes) / len(t.sizes), sum(t.listed) / len(t.listed))
    ctx.metrics[f"inbox_page_p95_ms_{key}_{size}"] = ms(percentile(page.seconds, 95))
    ctx.metrics[f"inbox_api_p95_ms_{key}_{size}"] = ms(percentile(listing.seconds, 95))

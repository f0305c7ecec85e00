"""Pages and API reads (GET) run without a transaction (#19): on SQLite they take no write lock, so a page view never
queues behind a command in another process or another page view. A write through a GET's session is refused, never
committed statement by statement (tests/web/test_web_app.py)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from engine import Engine, InstanceView
from engine.services.tokens import create_token
from tests.web.conftest import Browser


@contextmanager
def writer_holding_the_lock(engine: Engine) -> Iterator[None]:
    """Another process in the middle of a command: it holds SQLite's write lock until the block ends."""
    path = engine.db.url.database
    assert path
    writer = sqlite3.connect(path, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("UPDATE users SET display_name = display_name")
        yield
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_pages_and_api_reads_do_not_wait_for_a_writer(web_engine: Engine, browser: Callable[..., Browser],
                                                     complaint: InstanceView) -> None:
    rep = browser("rep")
    with web_engine.transaction() as session:
        token = create_token(session, "rep", "rep", name="reads").secret
    with writer_holding_the_lock(web_engine):
        # Before, each of these began with BEGIN IMMEDIATE and waited (up to the 30 s busy timeout) for the writer.
        inbox = rep.get("/")
        assert inbox.status_code == 200 and "ORD-1001" in inbox.get_data(as_text=True)
        api = rep.client.get(f"/api/v1/tasks?instance_id={complaint.id}", headers={"Authorization": f"Bearer {token}"})
        assert api.status_code == 200
        assert [t["instance_id"] for t in api.get_json()["items"]] == [complaint.id]

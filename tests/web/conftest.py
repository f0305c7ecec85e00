"""Web fixtures: an Engine with the web BPMN fixtures and their forms, the app, and signed-in clients."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from engine import Engine, EngineConfig, InstanceView, ManualClock, TaskView
from engine.config import SHIPPED_CALENDARS
from engine.passwords import hash_password
from engine.services.users import ensure_groups
from web import create_app

HERE = Path(__file__).resolve().parent
PASSWORD = "correct horse"  # noqa: S105 (test users only)
USERS = {
    "rep": ["cs_rep"], "rep2": ["cs_rep"], "assistant": ["cs_assistant"], "head": ["cs_head"], "vp": ["vp"],
    "ops": ["operations"], "gm": ["gm_office"], "fin": ["finance"], "designer": ["designer"], "auditor": ["auditor"],
    "admin": ["admin"],
}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="session")
def password_hash() -> str:
    """One scrypt hash for every test user (hashing is deliberately slow)."""
    return hash_password(PASSWORD)


@pytest.fixture
def web_engine(tmp_path: Path, clock: ManualClock, password_hash: str) -> Iterator[Engine]:
    """An Engine on a fresh SQLite file, with the web fixtures deployed and their forms in a temp dir."""
    forms = tmp_path / "forms"
    shutil.copytree(HERE / "forms", forms)
    config = EngineConfig(database_url=f"sqlite:///{tmp_path / 'web.sqlite3'}", forms_dir=forms,
                          calendars_dir=SHIPPED_CALENDARS)
    engine = Engine(config=config, clock=clock)
    engine.init()
    with engine.transaction() as session:
        ensure_groups(session)
    for name, groups in USERS.items():
        engine.add_user(name, groups, password_hash=password_hash)
    engine.deploy([HERE / "bpmn"], actor="designer")
    yield engine
    engine.close()


@pytest.fixture
def app(web_engine: Engine) -> Flask:
    """The web app on the test engine."""
    return create_app({"ENGINE": web_engine, "SECRET_KEY": "test-secret", "TESTING": True})


class Browser:
    """A test client that signs in and sends the CSRF token with every form, like a browser would."""

    def __init__(self, client: FlaskClient):
        self.client = client
        self.token: str | None = None

    def get(self, url: str, **kwargs: Any) -> TestResponse:
        """GET a page and remember its CSRF token."""
        response = self.client.get(url, **kwargs)
        match = CSRF.search(response.get_data(as_text=True))
        if match:
            self.token = match.group(1)
        return response

    def post(self, url: str, data: dict[str, Any] | None = None, *, csrf: bool = True, **kwargs: Any) -> TestResponse:
        """POST a form (with the CSRF token unless ``csrf=False``)."""
        form = dict(data or {})
        if csrf:
            if self.token is None:
                self.get("/login")
            form["csrf_token"] = self.token
        return self.client.post(url, data=form, **kwargs)

    def login(self, username: str, password: str = PASSWORD) -> TestResponse:
        """Sign in and load the inbox (which gives the new session's CSRF token)."""
        self.get("/login")
        response = self.post("/login", {"username": username, "password": password})
        if response.status_code == 302:
            self.get("/")
        return response


@pytest.fixture
def browser(app: Flask) -> Callable[..., Browser]:
    """Return a factory of browsers, signed in as the user given (or anonymous)."""

    def make(username: str | None = None) -> Browser:
        b = Browser(app.test_client())
        if username:
            response = b.login(username)
            assert response.status_code == 302, response.get_data(as_text=True)
        return b

    return make


@pytest.fixture
def complaint(web_engine: Engine) -> InstanceView:
    """A running complaint (started by rep) waiting at "Handle complaint" in the cs_rep lane."""
    return web_engine.start("complaint", {"customer": "ACME Logistics", "description": "pallet late"}, "rep",
                            business_key="ORD-1001")


@pytest.fixture
def order_check(web_engine: Engine) -> InstanceView:
    """A running order-plan check waiting at a cs_assistant task."""
    return web_engine.start("order_check", {"customer": "Beta Foods"}, "assistant", business_key="PLAN-7")


def open_task(engine: Engine, instance: InstanceView, element_id: str) -> TaskView:
    """Return the open task of ``instance`` at ``element_id``."""
    tasks = [t for t in engine.tasks(instance_id=instance.id) if t.element_id == element_id]
    assert tasks, f"no open task {element_id} in instance {instance.id}"
    return tasks[0]


@pytest.fixture
def task_of() -> Callable[[Engine, InstanceView, str], TaskView]:
    """Expose ``open_task`` to tests."""
    return open_task

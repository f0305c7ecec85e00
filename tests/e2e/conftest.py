"""A real server (werkzeug, in a thread) on 127.0.0.1 with a temp SQLite database, and Debian's Chromium."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from engine import Engine, EngineConfig, ManualClock
from engine.cli.serve import DEMO_PASSWORD
from engine.config import SHIPPED_CALENDARS
from engine.passwords import hash_password
from engine.services.users import ensure_groups

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]
WEB_TESTS = Path(__file__).resolve().parents[1] / "web"
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
USERS = {"rep": ["cs_rep"], "rep2": ["cs_rep"], "head": ["cs_head"], "assistant": ["cs_assistant"], "admin": ["admin"]}


def _require_browser() -> Any:
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests need Debian's Chromium at {CHROMIUM} (apt-get install -y chromium; `make browser`)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("browser tests need the playwright Python package (pip install playwright)")
    return sync_playwright


@dataclass
class LiveServer:
    """The app served over HTTP, with the engine and clock behind it."""

    url: str
    engine: Engine
    clock: ManualClock


def _wait_for_port(host: str, port: int, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            sock.settimeout(0.2)
            if sock.connect_ex((host, port)) == 0:
                return
        time.sleep(0.05)  # only here: waiting for a real server port to open
    raise RuntimeError(f"server on {host}:{port} did not start")


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Serve the app with werkzeug in a thread; the engine clock starts three hours ago (to have overdue work)."""
    _require_browser()
    from web import create_app

    tmp = tmp_path_factory.mktemp("e2e")
    forms = tmp / "forms"
    shutil.copytree(WEB_TESTS / "forms", forms)
    clock = ManualClock(datetime.now(timezone.utc) - timedelta(hours=3))
    engine = Engine(config=EngineConfig(database_url=f"sqlite:///{tmp / 'e2e.sqlite3'}", forms_dir=forms,
                                        calendars_dir=SHIPPED_CALENDARS), clock=clock)
    engine.init()
    with engine.transaction() as session:
        ensure_groups(session)
    hashed = hash_password(DEMO_PASSWORD)
    for name, groups in USERS.items():
        engine.add_user(name, groups, password_hash=hashed)
    engine.deploy([WEB_TESTS / "bpmn"], actor="designer")
    with serve(create_app({"ENGINE": engine, "SECRET_KEY": "e2e-secret", "DEMO": True})) as base:
        yield LiveServer(base, engine, clock)
    engine.close()


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serve a Flask app with werkzeug in a thread on a free port; yield its base URL, stop it afterwards."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-server", daemon=True)
    thread.start()
    _wait_for_port("127.0.0.1", server.server_port)
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (never a downloaded browser)."""
    sync_playwright = _require_browser()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def screenshots() -> Path:
    """The folder screenshots go to (git-ignored)."""
    SCREENSHOTS.mkdir(exist_ok=True)
    return SCREENSHOTS

"""The app factory, one transaction per request, error pages, and the rules every route follows."""

from __future__ import annotations

import os
import stat
import threading

from flask import Flask

from engine.errors import NotAllowed
from engine.services import task_notes
from web import create_app
from web.db import db
from web.extensions import csrf
from web.settings import persistent_secret_key


def test_create_app_without_arguments_builds_its_engine_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
    monkeypatch.setenv("BPM_SECRET_KEY", "from-the-environment")
    threads = threading.active_count()
    app = create_app()
    assert threading.active_count() == threads  # no scheduler, no background threads
    assert app.config["SECRET_KEY"] == "from-the-environment"  # noqa: S105
    engine = app.extensions["bpm_engine"]
    assert engine.config.database_url.endswith("fresh.sqlite3")
    client = app.test_client()
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/login").status_code == 200
    engine.close()


def test_an_uninitialised_database_gives_a_friendly_page(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    app = create_app({"SECRET_KEY": "x", "WTF_CSRF_ENABLED": False})
    response = app.test_client().post("/login", data={"username": "rep", "password": "pw"})
    text = response.get_data(as_text=True)
    assert response.status_code == 500 and "bpm init" in text and "Traceback" not in text
    app.extensions["bpm_engine"].close()


def test_secret_key_is_persisted_privately(tmp_path):
    key = persistent_secret_key(str(tmp_path))
    path = tmp_path / "secret_key"
    assert len(key) >= 32 and path.read_text() == key
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert persistent_secret_key(str(tmp_path)) == key
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]


def test_every_route_declares_who_may_use_it(app: Flask):
    unguarded, page_methods, api_methods = [], set(), set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        view = app.view_functions[rule.endpoint]
        if not hasattr(view, "required_groups"):
            unguarded.append(rule.rule)
        (api_methods if rule.rule.startswith("/api/") else page_methods).update(rule.methods or ())
    assert unguarded == []
    # Pages change things by POST only (forms, CSRF); the token-only API also replaces and removes (drafts).
    assert page_methods <= {"GET", "HEAD", "OPTIONS", "POST"}
    assert api_methods <= {"GET", "HEAD", "OPTIONS", "POST", "PUT", "DELETE"}
    from web.api import resource_blueprints

    # Only the API is exempt: it accepts bearer tokens alone and ignores the session cookie.
    assert not csrf._exempt_views and csrf._exempt_blueprints == set(resource_blueprints())


def test_mutating_routes_are_post_only(app: Flask):
    for rule in app.url_map.iter_rules():
        name = rule.endpoint.rsplit(".", 1)[-1]
        if name in {"claim", "unclaim", "assign", "complete", "save_draft", "comment", "start", "cancel", "logout",
                    "language"}:
            assert rule.methods - {"HEAD", "OPTIONS"} == {"POST"}, rule.rule


def test_unknown_pages_and_methods_get_friendly_pages(browser):
    b = browser("rep")
    missing = b.get("/no/such/page")
    assert missing.status_code == 404 and "Not found" in missing.get_data(as_text=True)
    wrong_method = b.client.get("/instances/1/cancel")
    assert wrong_method.status_code == 405 and "Traceback" not in wrong_method.get_data(as_text=True)


def test_api_paths_get_json_errors(browser):
    response = browser("rep").get("/api/v1/nothing-here")
    assert response.status_code == 404 and response.get_json()["error"] == "not_found"


def _probe_app(web_engine):
    app = create_app({"ENGINE": web_engine, "SECRET_KEY": "x", "WTF_CSRF_ENABLED": False})

    def comment(fail: bool):
        task_id = web_engine.tasks(user="rep")[0].id
        task_notes.add_comment(db(), task_id, "written in the request", "rep")
        if fail:
            raise NotAllowed("refused after writing")
        return "ok"

    app.add_url_rule("/probe/ok", "probe_ok", lambda: comment(False), methods=["GET", "POST"])
    app.add_url_rule("/probe/fail", "probe_fail", lambda: comment(True), methods=["POST"])
    app.add_url_rule("/probe/boom", "probe_boom", lambda: 1 / 0)
    return app


def _comments(web_engine):
    with web_engine.transaction() as session:
        return len(task_notes.list_comments(session, web_engine.tasks(user="rep")[0].id))


def test_one_transaction_per_request(web_engine, complaint):
    client = _probe_app(web_engine).test_client()
    # A GET reads without a transaction (no write lock on SQLite): a view that writes is refused, nothing is written.
    assert client.get("/probe/ok").status_code == 500
    assert _comments(web_engine) == 0
    assert client.post("/probe/fail").status_code == 403
    assert _comments(web_engine) == 0  # an error rolls back what the view wrote
    assert client.post("/probe/ok").status_code == 200
    assert _comments(web_engine) == 1


def test_unexpected_errors_are_a_friendly_500(web_engine):
    response = _probe_app(web_engine).test_client().get("/probe/boom")
    text = response.get_data(as_text=True)
    assert response.status_code == 500 and "Something went wrong" in text
    assert "ZeroDivisionError" not in text and "Traceback" not in text

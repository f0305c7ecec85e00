"""Sessions end for real: a cookie copied before sign-out, a password change, deactivation or "sign out everywhere" no longer opens a page."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import select

from engine.cli.commands import cli
from engine.passwords import hash_password
from engine.persistence import AuditEvent
from engine.services import admin as accounts
from tests.web.test_api_fixtures import ApiClient, issue_token

pytest_plugins = ["tests.web.test_api_fixtures"]


def _saved_cookie(browser, username="rep"):
    """Sign in and return a second browser that holds a copy of the session cookie."""
    signed_in = browser(username)
    assert signed_in.get("/").status_code == 200
    cookie = signed_in.client.get_cookie("session")
    thief = browser()
    thief.client.set_cookie(cookie.key, cookie.value)
    assert thief.get("/").status_code == 200  # the copy works while the session lives
    return signed_in, thief


def _refused(client) -> bool:
    response = client.get("/")
    return response.status_code == 302 and "/login" in response.headers["Location"]


def test_sign_out_ends_the_copied_cookie_too(browser):
    signed_in, thief = _saved_cookie(browser)
    assert signed_in.post("/logout").status_code == 302
    assert _refused(thief)
    assert browser("rep").get("/").status_code == 200  # signing in again works


def test_a_new_password_or_deactivation_ends_sessions(browser, web_engine):
    _, thief = _saved_cookie(browser)
    with web_engine.transaction() as session:
        accounts.set_password(session, "rep", hash_password("a-new-password-1"), "admin")
    assert _refused(thief)
    _, thief = _saved_cookie(browser, "head")
    with web_engine.transaction() as session:
        accounts.set_active(session, "head", False, "admin")
    assert _refused(thief)


def test_admins_sign_someone_out_everywhere(app, browser, web_engine, monkeypatch):
    _, page_copy = _saved_cookie(browser)
    admin = browser("admin")
    admin.get("/admin/users/rep")
    assert admin.post("/admin/users/rep/sessions/end").status_code == 302
    assert _refused(page_copy)
    _, api_copy = _saved_cookie(browser)
    api = ApiClient(app, issue_token(web_engine, "admin"))
    assert api.post("/users/rep/sessions/revoke").status_code == 200
    assert _refused(api_copy)
    assert api.post("/users/nobody/sessions/revoke").status_code == 404
    _, cli_copy = _saved_cookie(browser)
    monkeypatch.setenv("DATABASE_URL", web_engine.db.url.render_as_string(hide_password=False))
    result = CliRunner().invoke(cli, ["users", "signout-everywhere", "rep"])
    assert result.exit_code == 0, result.output
    assert _refused(cli_copy)
    with web_engine.transaction() as session:
        ended = session.scalars(select(AuditEvent.actor).where(AuditEvent.type == "sessions_ended")).all()
    assert sorted(ended) == ["admin", "admin", "system"]

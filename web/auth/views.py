"""Sign-in (with lock-out), sign-out (POST) and the language switch."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user, login_user, logout_user

from engine.cli.serve import DEMO_PASSWORD, DEMO_USERS
from engine.services.users import end_sessions, set_locale
from web.access import ANYONE, public, requires
from web.auth.accounts import authenticate, load_session_user
from web.db import commit, db, now
from web.extensions import login_manager
from web.i18n import LANGUAGES, language_of, local_datetime

bp = Blueprint("auth", __name__)


@login_manager.user_loader
def _load_user(cookie_id: str) -> object:
    return load_session_user(db(), cookie_id)


def safe_next(target: str | None, default: str) -> str:
    """Return ``target`` if it is a path on this site, else ``default`` (no open redirects)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def _demo_users() -> list[tuple[str, str]]:
    if not current_app.config.get("DEMO"):
        return []
    return [(name, groups[0]) for name, groups in DEMO_USERS.items()]


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> ResponseReturnValue:
    """Show the sign-in form; check the password; lock out after five failures."""
    if current_user.is_authenticated and request.method == "GET":
        return redirect(url_for("inbox.index"))
    next_url = safe_next(request.values.get("next"), url_for("inbox.index"))
    username = request.form.get("username", "").strip()
    error = None
    status = 200
    if request.method == "POST":
        result = authenticate(db(), username, request.form.get("password", ""), now(), request.remote_addr or "-")
        if result.user is not None:
            language = language_of(result.user.locale) or language_of(session.get("locale"))
            # A new sign-in starts a new session (and a new CSRF token).
            session.clear()
            if language:
                session["locale"] = language
            login_user(result.user)
            commit()
            return redirect(next_url)
        # Failed attempts count even though the request fails: commit them.
        commit()
        if result.locked_until is not None:
            error = gettext("Too many failed attempts from this computer. Try again after %(time)s.",
                            time=local_datetime(result.locked_until))
            status = 429
        else:
            error = gettext("Wrong user name or password.")
            status = 401
    return render_template("auth/login.html", error=error, username=username, next_url=next_url,
                           demo_users=_demo_users(), demo_password=DEMO_PASSWORD), status


@bp.post("/logout")
@requires(ANYONE)
def logout() -> ResponseReturnValue:
    """Sign out and forget the session."""
    language = session.get("locale")
    # A copy of the cookie must not outlive the sign-out: end the user's sessions, not just this one.
    end_sessions(db(), current_user.username, current_user.username, "signed out")
    commit()
    logout_user()
    session.clear()
    if language:
        session["locale"] = language
    flash(gettext("You are signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.post("/language")
@public
def language() -> ResponseReturnValue:
    """Switch the language; remembered in the session and, when signed in, on the user."""
    chosen = language_of(request.form.get("language"))
    if chosen in LANGUAGES:
        session["locale"] = chosen
        if current_user.is_authenticated:
            set_locale(db(), current_user.username, chosen)
    return redirect(safe_next(request.form.get("next"), url_for("inbox.index")))

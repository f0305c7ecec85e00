"""Users (create, groups, deactivate, password) and groups (create, members)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user

from engine.errors import Conflict, EngineError
from engine.passwords import hash_password
from engine.services import admin as accounts
from engine.services import users as users_service
from web.access import ADMINS, requires
from web.admin import bp
from web.db import db, rollback
from web.i18n import form_language

MIN_PASSWORD = 8


def _group_names(groups: list[accounts.GroupView]) -> dict[str, str]:
    chinese = form_language() == "zh-CN"
    return {g.id: (g.name_zh if chinese else g.name_en) or g.id for g in groups}


def _chosen_groups() -> list[str]:
    known = {g.id for g in accounts.list_groups(db())}
    return sorted({g for g in request.form.getlist("groups") if g in known})


def _password_error(password: str, again: str) -> str | None:
    if len(password) < MIN_PASSWORD:
        return gettext("The password needs at least %(n)s characters.", n=MIN_PASSWORD)
    if password != again:
        return gettext("The two passwords differ.")
    return None


def _message(exc: EngineError) -> str:
    if isinstance(exc, Conflict) and "last active administrator" in str(exc):
        return gettext("This is the last active administrator. Make someone else an administrator first.")
    return str(exc)


@bp.get("/")
@requires(ADMINS)
def index() -> ResponseReturnValue:
    """Start at the user list."""
    return redirect(url_for("admin.users"))


def _users_page(error: str = "", values: dict[str, Any] | None = None, status: int = 200) -> ResponseReturnValue:
    session = db()
    groups = accounts.list_groups(session)
    return render_template("admin/users.html", users=accounts.list_users(session), groups=groups,
                           group_names=_group_names(groups), error=error, values=values or {},
                           min_password=MIN_PASSWORD), status


@bp.get("/users")
@requires(ADMINS)
def users() -> ResponseReturnValue:
    """List users and offer the form that creates one."""
    return _users_page()


@bp.post("/users")
@requires(ADMINS)
def create_user() -> ResponseReturnValue:
    """Create a user with groups and, optionally, a password."""
    username = request.form.get("username", "").strip()
    display_name = request.form.get("display_name", "").strip()
    groups = _chosen_groups()
    password, again = request.form.get("password", ""), request.form.get("password_again", "")
    values = {"username": username, "display_name": display_name, "groups": groups}
    if not accounts.USERNAME.fullmatch(username):
        return _users_page(gettext("User name: letters, digits, '.', '_', '-' or '@', starting with a letter or digit."),
                           values, 422)
    if any(u.username == username for u in accounts.list_users(db())):
        return _users_page(gettext("A user named %(name)s already exists.", name=username), values, 422)
    if password or again:
        problem = _password_error(password, again)
        if problem:
            return _users_page(problem, values, 422)
    accounts.create_user(db(), username, display_name, groups, hash_password(password) if password else None,
                         current_user.username)
    flash(gettext("User %(name)s created.", name=username), "success")
    return redirect(url_for("admin.user", username=username))


def _user_page(username: str, error: str = "", status: int = 200) -> ResponseReturnValue:
    session = db()
    groups = accounts.list_groups(session)
    return render_template("admin/user.html", user=accounts.get_user_view(session, username), groups=groups,
                           group_names=_group_names(groups), error=error, min_password=MIN_PASSWORD,
                           is_me=username == current_user.username), status


@bp.get("/users/<username>")
@requires(ADMINS)
def user(username: str) -> ResponseReturnValue:
    """Show a user with the forms that change them."""
    return _user_page(username)


@bp.post("/users/<username>")
@requires(ADMINS)
def update_user(username: str) -> ResponseReturnValue:
    """Change a user's display name and groups."""
    try:
        accounts.update_user(db(), username, display_name=request.form.get("display_name", ""), groups=_chosen_groups(),
                             actor=current_user.username)
    except Conflict as exc:
        rollback()
        return _user_page(username, _message(exc), 409)
    flash(gettext("User %(name)s saved.", name=username), "success")
    return redirect(url_for("admin.user", username=username))


@bp.post("/users/<username>/active")
@requires(ADMINS)
def set_active(username: str) -> ResponseReturnValue:
    """Deactivate or reactivate a user."""
    active = request.form.get("active") == "1"
    if not active and username == current_user.username:
        return _user_page(username, gettext("You cannot deactivate yourself."), 409)
    try:
        accounts.set_active(db(), username, active, current_user.username)
    except Conflict as exc:
        rollback()
        return _user_page(username, _message(exc), 409)
    flash(gettext("User %(name)s reactivated.", name=username) if active
          else gettext("User %(name)s deactivated: they can no longer sign in.", name=username), "success")
    return redirect(url_for("admin.user", username=username))


@bp.post("/users/<username>/sessions/end")
@requires(ADMINS)
def end_sessions(username: str) -> ResponseReturnValue:
    """Sign a user out everywhere: every cookie issued to them stops working."""
    accounts.get_user_view(db(), username)  # 404 first
    users_service.end_sessions(db(), username, current_user.username, "signed out everywhere by an administrator")
    flash(gettext("%(name)s is signed out everywhere.", name=username), "success")
    return redirect(url_for("admin.user", username=username))


@bp.post("/users/<username>/password")
@requires(ADMINS)
def set_password(username: str) -> ResponseReturnValue:
    """Set a user's password (stored as a scrypt hash); it also lifts a lock-out."""
    accounts.get_user_view(db(), username)  # 404 first
    problem = _password_error(request.form.get("password", ""), request.form.get("password_again", ""))
    if problem:
        return _user_page(username, problem, 422)
    accounts.set_password(db(), username, hash_password(request.form["password"]), current_user.username)
    flash(gettext("Password of %(name)s set.", name=username), "success")
    return redirect(url_for("admin.user", username=username))


def _groups_page(error: str = "", values: dict[str, str] | None = None, status: int = 200) -> ResponseReturnValue:
    session = db()
    groups = accounts.list_groups(session)
    return render_template("admin/groups.html", groups=groups, group_names=_group_names(groups),
                           usernames=[u.username for u in accounts.list_users(session) if u.active],
                           error=error, values=values or {}), status


@bp.get("/groups")
@requires(ADMINS)
def groups() -> ResponseReturnValue:
    """List groups with their members."""
    return _groups_page()


@bp.post("/groups")
@requires(ADMINS)
def create_group() -> ResponseReturnValue:
    """Create a group (a BPMN lane may then name it)."""
    values = {k: request.form.get(k, "").strip() for k in ("group_id", "name_en", "name_zh")}
    if not accounts.GROUP_ID.fullmatch(values["group_id"]):
        return _groups_page(gettext("Group id: lower-case letters, digits and '_', starting with a letter."), values, 422)
    if any(g.id == values["group_id"] for g in accounts.list_groups(db())):
        return _groups_page(gettext("A group %(id)s already exists.", id=values["group_id"]), values, 422)
    accounts.create_group(db(), values["group_id"], values["name_en"], values["name_zh"], current_user.username)
    flash(gettext("Group %(id)s created.", id=values["group_id"]), "success")
    return redirect(url_for("admin.groups"))


@bp.post("/groups/<group_id>/members")
@requires(ADMINS)
def add_member(group_id: str) -> ResponseReturnValue:
    """Put a user in a group."""
    username = request.form.get("username", "").strip()
    if not username:
        return _groups_page(gettext("Choose a user."), status=422)
    accounts.add_member(db(), group_id, username, current_user.username)
    flash(gettext("%(user)s added to %(group)s.", user=username, group=group_id), "success")
    return redirect(url_for("admin.groups") + f"#group-{group_id}")


@bp.post("/groups/<group_id>/members/<username>/remove")
@requires(ADMINS)
def remove_member(group_id: str, username: str) -> ResponseReturnValue:
    """Take a user out of a group."""
    try:
        accounts.remove_member(db(), group_id, username, current_user.username)
    except Conflict as exc:
        rollback()
        return _groups_page(_message(exc), status=409)
    flash(gettext("%(user)s removed from %(group)s.", user=username, group=group_id), "success")
    return redirect(url_for("admin.groups") + f"#group-{group_id}")

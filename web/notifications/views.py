"""Notification pages: the list (mark read, open the task or case), my settings, groups' robots, and 催办."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext
from flask_login import current_user

from engine.errors import EngineError
from engine.persistence import Group
from engine.services.notifications import list_notifications, mark_read, unread_count
from engine.services.notify_settings import (
    group_webhooks,
    preferences,
    remove_group_webhook,
    set_group_webhook,
    set_preferences,
)
from engine.services.urging import urge_task
from web.access import ADMINS, ANYONE, requires
from web.db import db, rollback
from web.i18n import reason_of
from web.paging import page_size, requested_page

bp = Blueprint("notifications", __name__, url_prefix="/notifications")
KINDS = {
    "task_assigned": lazy_gettext("A task became yours"),
    "task_available": lazy_gettext("A new task for your group"),
    "task_transferred": lazy_gettext("A task was transferred to you"),
    "task_delegated": lazy_gettext("A task was delegated to you"),
    "task_delegation_returned": lazy_gettext("A delegated task came back to you"),
    "task_sent_back": lazy_gettext("A task was sent back to you"),
    "task_withdrawn": lazy_gettext("A task was withdrawn"),
    "task_urged": lazy_gettext("You were urged"),
    "escalated": lazy_gettext("Escalated to you"),
    "sla_breached": lazy_gettext("Deadline missed"),
    "instance_copied": lazy_gettext("A case was copied to you"),
}
CHANNELS = {"email": lazy_gettext("Email"), "wecom": lazy_gettext("WeCom robot"),
            "dingtalk": lazy_gettext("DingTalk robot"), "feishu": lazy_gettext("Feishu robot")}
STATES = {"sent": lazy_gettext("sent"), "pending": lazy_gettext("pending"), "failed": lazy_gettext("failed")}


@bp.app_template_global()
def unread_notification_count() -> int:
    """Return how many notifications the signed-in user has not read (the bell)."""
    return unread_count(db(), current_user.username) if current_user.is_authenticated else 0


@bp.app_template_global()
def may_urge_task(task_id: str) -> bool:
    """Return True if the signed-in user may urge the task (the task page shows 催办 then)."""
    from engine.persistence import HumanTask
    from engine.services.urging import may_urge

    row = db().get(HumanTask, task_id) if current_user.is_authenticated else None
    return row is not None and may_urge(db(), row, current_user.username)


@bp.get("/")
@requires(ANYONE)
def index() -> ResponseReturnValue:
    """List my notifications, newest first, with my settings below."""
    page = requested_page()
    rows = list_notifications(db(), current_user.username, limit=page_size(), offset=(page - 1) * page_size())
    return render_template("notifications/index.html", rows=rows, kinds=KINDS, channels=CHANNELS, states=STATES,
                           prefs=preferences(db(), current_user.username), page=page,
                           more=len(rows) == page_size())


@bp.post("/<string(length=32):notification_id>/read")
@requires(ANYONE)
def read(notification_id: str) -> ResponseReturnValue:
    """Mark one notification read and open what it is about."""
    mark_read(db(), current_user.username, notification_id)
    target = request.form.get("open", "")
    return redirect(target if target.startswith("/") and not target.startswith("//") else url_for("notifications.index"))


@bp.post("/read-all")
@requires(ANYONE)
def read_all() -> ResponseReturnValue:
    """Mark every notification read."""
    mark_read(db(), current_user.username)
    return redirect(url_for("notifications.index"))


@bp.post("/settings")
@requires(ANYONE)
def settings() -> ResponseReturnValue:
    """Save my e-mail address and choices."""
    email = request.form.get("email", "").strip()
    try:
        set_preferences(db(), current_user.username, email=email or None, clear_email=not email,
                        email_enabled=request.form.get("email_enabled") == "on",
                        digest=request.form.get("offhours") == "digest")
    except EngineError as exc:
        rollback()
        flash(gettext("Not saved: %(reason)s", reason=reason_of(exc)), "error")
        return redirect(url_for("notifications.index"))
    flash(gettext("Notification settings saved."), "success")
    return redirect(url_for("notifications.index"))


@bp.post("/urge/<task_id>")
@requires(ANYONE)
def urge(task_id: str) -> ResponseReturnValue:
    """Urge (催办) whoever holds the task."""
    back = url_for("tasks.show", task_id=task_id)
    try:
        result = urge_task(db(), task_id, current_user.username, request.form.get("note", ""))
    except EngineError as exc:
        rollback()
        flash(gettext("Not urged: %(reason)s", reason=reason_of(exc)), "error")
        return redirect(back)
    flash(gettext("Urged %(people)s.", people=", ".join(result.recipients)), "success")
    return redirect(back)


@bp.get("/webhooks")
@requires(ADMINS)
def webhooks() -> ResponseReturnValue:
    """Groups' chat robots (企业微信 / 钉钉 / 飞书); secrets are never shown."""
    from sqlalchemy import select

    groups = list(db().scalars(select(Group).order_by(Group.id)))
    return render_template("notifications/webhooks.html", hooks={h.group_id: h for h in group_webhooks(db())},
                           groups=groups)


@bp.post("/webhooks")
@requires(ADMINS)
def save_webhook() -> ResponseReturnValue:
    """Set or remove a group's robot (an empty secret keeps the stored one)."""
    group = request.form.get("group", "")
    try:
        if request.form.get("remove"):
            remove_group_webhook(db(), group, current_user.username)
        else:
            stored = {h.group_id: h.url for h in group_webhooks(db())}
            url = request.form.get("url", "").strip() or stored.get(group, "")
            set_group_webhook(db(), group, request.form.get("platform", ""), url,
                              request.form.get("secret"), current_user.username,
                              keep_secret=not request.form.get("clear_secret"))
    except EngineError as exc:
        rollback()
        flash(gettext("Not saved: %(reason)s", reason=reason_of(exc)), "error")
        return redirect(url_for("notifications.webhooks"))
    flash(gettext("Chat robot of %(group)s saved.", group=group), "success")
    return redirect(url_for("notifications.webhooks"))

"""Task operations on the task page beyond claim and complete: transfer (转办), delegate (委派), send back (退回),
withdraw (撤回)."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user

from engine.errors import EngineError
from engine.services.task_operations import delegate_task, transfer_task
from engine.services.task_returns import send_back_task, withdraw_task
from web.access import WORKERS, may_delegate, may_transfer, requires
from web.db import db, rollback
from web.i18n import group_label, reason_of
from web.tasks.views import bp, visible_task
from web.texts import task_title


@bp.post("/<task_id>/transfer")
@requires(WORKERS)
def transfer(task_id: str) -> ResponseReturnValue:
    """Hand a task on to a user or a group's queue, with a reason; a refusal comes back to the task page."""
    task = visible_task(task_id)
    back = url_for("tasks.show", task_id=task_id)
    target = request.form.get("to", "")
    kind, _, name = target.partition(":")
    reason = request.form.get("reason", "").strip()
    if not may_transfer(task):
        flash(gettext("You may not transfer this task."), "error")
        return redirect(back)
    if kind not in ("user", "group") or not name:
        flash(gettext("Choose whom to transfer the task to."), "error")
        return redirect(back)
    if not reason:
        flash(gettext("Say why you transfer the task."), "error")
        return redirect(back)
    try:
        transfer_task(db(), task_id, current_user.username, to_user=name if kind == "user" else None,
                      to_group=name if kind == "group" else None, reason=reason)
    except EngineError as exc:
        rollback()
        flash(gettext("The task could not be transferred: %(reason)s", reason=reason_of(exc)), "error")
        return redirect(back)
    flash(gettext("The task is transferred."), "success")
    return redirect(url_for("inbox.index"))


@bp.post("/<task_id>/delegate")
@requires(WORKERS)
def delegate(task_id: str) -> ResponseReturnValue:
    """Let a colleague fill a task I hold; it comes back to me to confirm."""
    task = visible_task(task_id)
    back = url_for("tasks.show", task_id=task_id)
    to_user = request.form.get("to_user", "").strip()
    if not may_delegate(task):
        flash(gettext("Only the task's assignee may delegate it; claim it first."), "error")
        return redirect(back)
    if not to_user:
        flash(gettext("Choose whom to delegate the task to."), "error")
        return redirect(back)
    try:
        delegate_task(db(), task_id, current_user.username, to_user)
    except EngineError as exc:
        rollback()
        flash(gettext("The task could not be delegated: %(reason)s", reason=reason_of(exc)), "error")
        return redirect(back)
    flash(gettext("The task is delegated to %(user)s; it comes back to you when they are done.", user=to_user), "success")
    return redirect(url_for("inbox.index"))


@bp.post("/<task_id>/send-back")
@requires(WORKERS)
def send_back(task_id: str) -> ResponseReturnValue:
    """Send a task back to an earlier step with a reason; a refusal comes back to the task page."""
    task = visible_task(task_id)
    back = url_for("tasks.show", task_id=task_id)
    to_element = request.form.get("to_element", "").strip()
    reason = request.form.get("reason", "").strip()
    if not may_transfer(task):
        flash(gettext("You may not send this task back."), "error")
        return redirect(back)
    if not to_element or not reason:
        flash(gettext("Choose the step to send the task back to, and say why."), "error")
        return redirect(back)
    try:
        reopened = send_back_task(db(), task_id, current_user.username, to_element, reason)
    except EngineError as exc:
        rollback()
        flash(gettext("The task could not be sent back: %(reason)s", reason=reason_of(exc)), "error")
        return redirect(back)
    flash(gettext("The task is sent back to “%(step)s”; %(user)s has it again.", step=task_title(reopened),
                  user=reopened.assignee or group_label(reopened.group or "")), "success")
    return redirect(url_for("inbox.index"))


@bp.post("/<task_id>/withdraw")
@requires(WORKERS)
def withdraw(task_id: str) -> ResponseReturnValue:
    """Take back a task I completed while the next steps are untouched; it opens again for me."""
    try:
        withdraw_task(db(), task_id, current_user.username)
    except EngineError as exc:
        rollback()
        flash(gettext("The task could not be withdrawn: %(reason)s", reason=reason_of(exc)), "error")
        return redirect(request.referrer or url_for("inbox.done"))
    flash(gettext("The task is withdrawn: it is yours again with what you submitted."), "success")
    return redirect(url_for("tasks.show", task_id=task_id))

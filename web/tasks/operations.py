"""Task operations on the task page beyond claim and complete: transfer (转办) and delegate (委派)."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user

from engine.errors import EngineError
from engine.services.task_operations import delegate_task, transfer_task
from web.access import WORKERS, may_delegate, may_transfer, requires
from web.db import db, rollback
from web.tasks.views import bp, visible_task


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
        flash(gettext("The task could not be transferred: %(reason)s", reason=str(exc)), "error")
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
        flash(gettext("The task could not be delegated: %(reason)s", reason=str(exc)), "error")
        return redirect(back)
    flash(gettext("The task is delegated to %(user)s; it comes back to you when they are done.", user=to_user), "success")
    return redirect(url_for("inbox.index"))

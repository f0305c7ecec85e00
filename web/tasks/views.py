"""Task routes: show, claim, unclaim, assign, complete, save a draft, comment (all changes by POST)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user

from engine.definitions.forms import FormErrors, validate_submission
from engine.errors import Conflict, EngineError
from engine.services import task_notes
from engine.services import tasks as task_service
from engine.services.views import TaskView
from web.access import ANYONE, ASSIGNERS, WORKERS, may_view_task, may_work_on, requires
from web.auth.views import safe_next
from web.db import db, rollback
from web.errors import status_of
from web.formview import deployment_today, form_error_messages, raw_values, read_submission, submission_error
from web.i18n import reason_of
from web.tasks.page import definition_of, render_task, task_form
from web.texts import task_title

bp = Blueprint("tasks", __name__, url_prefix="/tasks")


def visible_task(task_id: str) -> TaskView:
    """Return the task if the signed-in user may open it (403 otherwise, 404 when there is none)."""
    task = task_service.get_task(db(), task_id)
    if not may_view_task(task):
        abort(403)
    return task


def _back(task_id: str) -> str:
    return safe_next(request.form.get("next"), url_for("tasks.show", task_id=task_id))


@bp.get("/<task_id>")
@requires(ANYONE)
def show(task_id: str) -> ResponseReturnValue:
    """Show a task: its form (or what was submitted), data, comments and the diagram."""
    return render_task(db(), visible_task(task_id))


@bp.post("/<task_id>/claim")
@requires(WORKERS)
def claim(task_id: str) -> ResponseReturnValue:
    """Take an unclaimed task of my group."""
    visible_task(task_id)
    task_service.claim_task(db(), task_id, current_user.username)
    flash(gettext("The task is now yours."), "success")
    return redirect(_back(task_id))


@bp.post("/<task_id>/unclaim")
@requires(WORKERS)
def unclaim(task_id: str) -> ResponseReturnValue:
    """Give a task back to its group."""
    visible_task(task_id)
    task_service.unclaim_task(db(), task_id, current_user.username)
    flash(gettext("The task is back in its group's queue."), "success")
    return redirect(_back(task_id))


@bp.post("/<task_id>/assign")
@requires(ASSIGNERS)
def assign(task_id: str) -> ResponseReturnValue:
    """Assign a task to a member of its group (cs_head, admin)."""
    visible_task(task_id)
    assignee = request.form.get("assignee", "").strip()
    if not assignee:
        flash(gettext("Choose whom to assign the task to."), "error")
        return redirect(_back(task_id))
    task_service.assign_task(db(), task_id, assignee, current_user.username)
    flash(gettext("The task is assigned to %(user)s.", user=assignee), "success")
    return redirect(_back(task_id))


def _conflict_notice(task: TaskView) -> str | None:
    """Explain why a task can no longer be completed by me, if it cannot."""
    if task.status != "open":
        if task.completed_by:
            return gettext("%(user)s completed this task in the meantime. Your input is shown below and was not "
                           "submitted.", user=task.completed_by)
        return gettext("This task is no longer open (%(status)s). Your input is shown below and was not submitted.",
                       status=task.status)
    if task.assignee not in (None, current_user.username):
        return gettext("%(user)s claimed this task in the meantime. Your input is shown below and was not submitted; "
                       "add it as a comment if it helps them.", user=task.assignee)
    return None


@bp.post("/<task_id>/complete")
@requires(WORKERS)
def complete(task_id: str) -> ResponseReturnValue:
    """Validate the form on the server and complete the task, or show the form again with messages."""
    session = db()
    task = visible_task(task_id)
    definition_id = definition_of(session, task)
    form, problem = task_form(task, definition_id)
    values = raw_values(form, request.form) if form else {}
    notice = _conflict_notice(task)
    if notice:
        return render_task(session, task, values=values, notice=notice, status=409)
    if not may_work_on(task):
        abort(403)
    if problem:
        return render_task(session, task, values=values, status=422)
    data, errors = read_submission(form, request.form) if form else ({}, {})
    if not errors and form is not None:
        try:  # the rules against today need the deployment's date, which only the caller knows
            validate_submission(form, data, today=deployment_today())
        except FormErrors as exc:
            errors = form_error_messages(exc, form)
    if errors:
        return render_task(session, task, values=values, errors=errors, status=422)
    try:
        after = task_service.complete_task(session, task_id, data, current_user.username)
    except FormErrors as exc:
        rollback()
        return render_task(session, task, values=values, errors=form_error_messages(exc, form), status=422)
    except Conflict as exc:
        rollback()
        fresh = task_service.get_task(session, task_id)
        notice = _conflict_notice(fresh) or gettext("Someone else changed this process in the meantime (%(detail)s). "
                                                    "Your input is shown below; submit it again.", detail=reason_of(exc))
        return render_task(session, fresh, values=values, notice=notice, status=409)
    except EngineError as exc:
        # A script on the way to the next wait state, a limit, a refusal: nothing was kept, the same form comes back.
        rollback()
        return render_task(session, task, values=values, top_error=submission_error(exc, definition_id),
                           status=status_of(exc))
    if after.status == "open" and after.delegation == "resolved":
        flash(gettext("Handed back to %(owner)s to confirm.", owner=after.owner), "success")
        return redirect(url_for("inbox.index"))
    flash(gettext("Task “%(title)s” completed.", title=task_title(task)), "success")
    return redirect(url_for("inbox.index"))


@bp.post("/<task_id>/draft")
@requires(WORKERS)
def save_draft(task_id: str) -> ResponseReturnValue:
    """Keep what was typed so far without validating it."""
    session = db()
    task = visible_task(task_id)
    form, _problem = task_form(task)
    notice = _conflict_notice(task)
    values = raw_values(form, request.form) if form else {}
    if notice:
        return render_task(session, task, values=values, notice=notice, status=409)
    task_notes.save_draft(session, task_id, values, current_user.username)
    flash(gettext("Draft saved."), "success")
    return redirect(url_for("tasks.show", task_id=task_id))


@bp.post("/<task_id>/comments")
@requires(WORKERS)
def comment(task_id: str) -> ResponseReturnValue:
    """Add a comment to a task."""
    visible_task(task_id)
    body = request.form.get("body", "")
    if not body.strip():
        flash(gettext("Write a comment first."), "error")
        return redirect(url_for("tasks.show", task_id=task_id, _anchor="comments"))
    task_notes.add_comment(db(), task_id, body, current_user.username)
    flash(gettext("Comment added."), "success")
    return redirect(url_for("tasks.show", task_id=task_id, _anchor="comments"))

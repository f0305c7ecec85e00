"""Instance actions in the pages: the buttons on the instance page (write off, record payment…) and each one's form.

The instance page includes ``instances/_actions.html``, which asks the template global ``instance_actions``
for the actions the signed-in user may take on the instance now (``engine.services.instance_actions``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from flask import Flask, flash, redirect, render_template, request, url_for
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user

from engine.definitions.forms import FormErrors
from engine.errors import Conflict, EngineError, NotAllowed, NotFound
from engine.services.instance_actions import InstanceAction, find_action, list_actions, perform_action
from engine.services.instances import get_instance
from engine.services.texts import process_texts
from web.access import READ_ONLY, WORKERS, requires
from web.db import db, rollback
from web.formview import field_views, form_error_messages, raw_values, read_submission, submission_error
from web.i18n import form_language
from web.instances.views import bp

log = logging.getLogger(__name__)
ACTION = "/<int:instance_id>/actions/<string(minlength=1, maxlength=255):name>"


@dataclass(frozen=True)
class ActionButton:
    """One action as the instance page shows it."""

    name: str
    label: str
    url: str


def instance_actions(instance: Any) -> list[ActionButton]:
    """Return the signed-in user's actions on ``instance`` (an InstanceView or an id) as buttons; none for readers."""
    instance_id = int(getattr(instance, "id", instance))
    if not current_user.is_authenticated or READ_ONLY & current_user.groups:
        return []
    try:
        actions = list_actions(db(), instance_id, current_user.username)
    except EngineError:
        return []
    language = form_language()
    return [ActionButton(a.name, a.label(language), url_for("instances.action_form", instance_id=instance_id, name=a.name))
            for a in actions]


@bp.record_once
def _register_global(state: BlueprintSetupState) -> None:
    app: Flask = state.app
    app.jinja_env.globals["instance_actions"] = instance_actions


def _render(instance_id: int, action: InstanceAction, *, values: dict[str, Any] | None = None,
            errors: dict[str, str] | None = None, problem: str = "", status: int = 200) -> ResponseReturnValue:
    session = db()
    instance = get_instance(session, instance_id, with_data=False)
    language = form_language()
    form = action.form
    return render_template(
        "instances/action.html", instance=instance, action=action, label=action.label(language),
        process_name=process_texts(session, instance.definition_id).process_name(language),
        fields=field_views(form, values or {}, errors or {}) if form is not None else [],
        errors=errors or {}, problem=problem,
    ), status


@bp.get(ACTION)
@requires(WORKERS)
def action_form(instance_id: int, name: str) -> ResponseReturnValue:
    """Show an action's form (404 if the instance does not wait for it, 403 if I may not take it)."""
    action = find_action(db(), instance_id, name, current_user.username)
    return _render(instance_id, action)


@bp.post(ACTION)
@requires(WORKERS)
def perform(instance_id: int, name: str) -> ResponseReturnValue:
    """Take an action: its data checked against its form; errors show the form again with what was typed."""
    session = db()
    action = find_action(session, instance_id, name, current_user.username)
    form = action.form
    values: dict[str, Any] = raw_values(form, request.form) if form is not None else {}
    data: dict[str, Any] = {}
    if form is not None:
        data, errors = read_submission(form, request.form)
        if errors:
            return _render(instance_id, action, values=values, errors=errors, status=422)
    try:
        perform_action(session, instance_id, name, data, current_user.username)
    except FormErrors as exc:
        rollback()
        return _render(instance_id, action, values=values, errors=form_error_messages(exc, form), status=422)
    except (NotFound, NotAllowed, Conflict) as exc:
        rollback()
        log.info("action %s on instance %s refused: %s", name, instance_id, exc)
        problem = gettext("This case changed in the meantime and no longer waits for this action. Nothing was "
                          "recorded; open the case again to see where it stands.")
        return _render_or_leave(instance_id, action, values, problem)
    except EngineError as exc:
        rollback()
        log.warning("action %s on instance %s failed: %s", name, instance_id, exc)
        return _render(instance_id, action, values=values, status=422,
                       problem=submission_error(exc, _definition_id(session, instance_id)))
    flash(gettext("%(action)s recorded.", action=action.label(form_language())), "success")
    return redirect(url_for("instances.show", instance_id=instance_id))


def _render_or_leave(instance_id: int, action: InstanceAction, values: dict[str, Any], problem: str) -> ResponseReturnValue:
    try:
        return _render(instance_id, action, values=values, problem=problem, status=409)
    except NotFound:
        flash(problem, "error")
        return redirect(url_for("instances.index"))


def _definition_id(session: Any, instance_id: int) -> int | None:
    from engine.persistence import ProcessInstance

    instance = session.get(ProcessInstance, instance_id)
    return instance.definition_id if instance is not None else None

"""Start a process: a list of what I may start, and each process's start form."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user

from engine.definitions.forms import FormDefinition, FormErrors, validate_submission
from engine.errors import EngineError
from engine.services.instances import start_instance
from engine.services.texts import form_of
from web.access import ANYONE, WORKERS, requires
from web.db import db, rollback
from web.errors import status_of
from web.formview import (
    deployment_today,
    field_views,
    form_error_messages,
    raw_values,
    read_submission,
    submission_error,
)
from web.i18n import pick
from web.processes.startable import StartableProcess, find_process, may_start, startable_processes

bp = Blueprint("processes", __name__, url_prefix="/start")


@bp.get("/")
@requires(ANYONE)
def index() -> ResponseReturnValue:
    """List the processes my groups may start."""
    processes = startable_processes(db(), current_user.groups)
    forms = {p.key: _form(p) for p in processes}
    return render_template("processes/index.html", processes=processes, forms=forms)


def _form(process: StartableProcess) -> FormDefinition | None:
    """Return the start form as deployed with the process's version (its bundle, never this server's disk)."""
    if not process.form_key:
        return None
    # The request's own session: engine.form() opens a second transaction, which SQLite makes wait on this one's lock.
    return form_of(db(), process.definition.id, process.form_key)


def _startable(process_key: str) -> StartableProcess:
    process = find_process(db(), process_key)
    if process is None:
        abort(404)
    if not may_start(process, current_user.groups):
        abort(403)
    return process


def _render(process: StartableProcess, *, values: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
            business_key: str = "", json_text: str = "{}", top_error: str = "", status: int = 200) -> ResponseReturnValue:
    form = _form(process)
    missing_form = bool(process.form_key) and form is None
    errors = errors or {}
    return render_template(
        "processes/start.html", process=process, form=form, missing_form=missing_form,
        form_title=pick(form.ui.get("title") if form else None, pick(process.definition.names, process.definition.name)),
        fields=field_views(form, values, errors) if form else [], errors=errors, business_key=business_key,
        json_text=json_text, json_allowed=form is None and not missing_form and current_user.is_admin,
        top_error=top_error,
    ), status


@bp.get("/<process_key>")
@requires(WORKERS)
def form(process_key: str) -> ResponseReturnValue:
    """Show a process's start form."""
    return _render(_startable(process_key))


@bp.post("/<process_key>")
@requires(WORKERS)
def start(process_key: str) -> ResponseReturnValue:
    """Validate the start form and start an instance."""
    process = _startable(process_key)
    form = _form(process)
    business_key = request.form.get("business_key", "").strip()[:255]
    json_text = request.form.get("data_json", "{}")
    if process.form_key and form is None:
        return _render(process, status=422)
    data: dict[str, Any] = {}
    values: dict[str, Any] = {}
    if form is not None:
        values = raw_values(form, request.form)
        typed, errors = read_submission(form, request.form)
        if not errors:
            try:
                data = validate_submission(form, typed, today=deployment_today())
            except FormErrors as exc:
                errors = form_error_messages(exc, form)
        if errors:
            return _render(process, values=values, errors=errors, business_key=business_key, status=422)
    elif current_user.is_admin and json_text.strip():
        try:
            parsed = json.loads(json_text)
        except json.JSONDecodeError as exc:
            return _render(process, errors={"data_json": gettext("Not valid JSON: %(msg)s", msg=exc.msg)},
                           business_key=business_key, json_text=json_text, status=422)
        if not isinstance(parsed, dict):
            return _render(process, errors={"data_json": gettext("The data must be a JSON object.")},
                           business_key=business_key, json_text=json_text, status=422)
        data = parsed
    try:
        instance = start_instance(db(), process.key, data, current_user.username, business_key or None)
    except EngineError as exc:
        # Whatever the engine refuses (the form, a script on the way to the first wait state, a limit), the same
        # form comes back with what was typed: nothing of the failed start was kept.
        rollback()
        if isinstance(exc, FormErrors):
            return _render(process, values=values, errors=form_error_messages(exc, form), business_key=business_key,
                           json_text=json_text, status=422)
        return _render(process, values=values, business_key=business_key, json_text=json_text,
                       top_error=submission_error(exc, process.definition.id), status=status_of(exc))
    flash(gettext("Started %(process)s #%(id)s.", process=process.definition.name, id=instance.id), "success")
    return redirect(url_for("instances.show", instance_id=instance.id))

"""Instance list (filters in the URL, pages) and the instance page (diagram, tasks, timers, data, history, CSV)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user

from engine.services.admin import list_groups, list_users
from engine.services.audit import history_csv, history_lookup, instance_history
from engine.services.copies import mark_copies_read, unread_copies
from engine.services.definitions import list_definitions
from engine.services.external_tasks import list_external_tasks
from engine.services.instance_actions import may_see_or_act
from engine.services.instances import (
    InstanceFilter,
    cancel_instance,
    find_instances,
    get_instance,
    start_form_key,
)
from engine.services.overviews import InstanceOverview, display_names, instance_overviews
from engine.services.tasks import list_tasks
from engine.services.texts import ProcessTexts, form_of, process_texts
from engine.services.views import InstanceView
from web.access import ADMINS, ANYONE, INSTANCE_OVERSEERS, WORKERS, in_any, requires
from web.db import db, get_engine, now
from web.i18n import day_start, form_language, select_timezone, user_zone
from web.instances.diagrams import instance_diagram
from web.instances.presenting import form_labels, present_data, writers_labels
from web.instances.timeline import timeline
from web.paging import Pager, page_size, requested_page
from web.texts import element_name

bp = Blueprint("instances", __name__, url_prefix="/instances")
STATUSES = ("running", "completed", "cancelled", "failed")


def _day(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


@bp.get("/")
@requires(ANYONE)
def index() -> ResponseReturnValue:
    """List instances: all for overseers, the ones I started or take part in for everyone else."""
    session = db()
    started_from, started_to = _day("from"), _day("to")
    status = request.args.get("status") or None
    filters = InstanceFilter(
        process_key=request.args.get("process") or None,
        status=status if status in STATUSES else None,
        business_key=(request.args.get("q") or "").strip()[:100] or None,
        started_after=day_start(started_from) if started_from else None,
        started_before=day_start(started_to + timedelta(days=1)) if started_to else None,
    )
    page = requested_page()
    participant = None if in_any(INSTANCE_OVERSEERS) else current_user.username
    result = find_instances(session, filters, participant=participant, limit=page_size(),
                                          offset=(page - 1) * page_size())
    names = {d.process_key: d.name for d in list_definitions(session, latest_only=True)}
    return render_template("instances/list.html", instances=result.instances, names=names, statuses=STATUSES,
                           filters=filters, started_from=started_from, started_to=started_to,
                           pager=Pager(page, page_size(), result.total), everyone=participant is None)


def require_visible(instance_id: int) -> None:
    """Abort with 403 unless the signed-in user may see the instance (or holds an action on it)."""
    if in_any(INSTANCE_OVERSEERS):
        return
    if not may_see_or_act(db(), instance_id, current_user.username):
        abort(403)


def _texts(instance: InstanceView) -> ProcessTexts | None:
    return process_texts(db(), instance.definition_id) if instance.definition_id is not None else None


def _form_labels(instance: InstanceView, language: str) -> dict[str, dict[str, str]]:
    """Return the labels of the forms that wrote the instance's data: by task id, the start form's under ""."""
    if instance.definition_id is None:
        return {}
    session, definition_id = db(), instance.definition_id
    keys = {"": start_form_key(session, definition_id, instance.process_key)}
    keys.update({t.id: t.form_key for t in list_tasks(session, instance_id=instance.id, status=None)})
    forms = {key: form_labels(form_of(session, definition_id, key), language) for key in set(keys.values()) if key}
    return {task_id: forms[key] for task_id, key in keys.items() if key}


@bp.app_template_filter()
def element_label(element_id: str, definition_id: int | None) -> str:
    """Return an element's name in this language as its version names it (for ``map`` in the list templates)."""
    return element_name(definition_id, element_id)


@bp.app_template_global()
def instance_overviews_of(instances: Iterable[InstanceView]) -> dict[int, InstanceOverview]:
    """Return the customer and open tasks of each listed instance (read from the projections, never the workflows)."""
    return instance_overviews(db(), [i.id for i in instances])


@bp.get("/<int:instance_id>")
@requires(ANYONE)
def show(instance_id: int) -> ResponseReturnValue:
    """Show an instance: diagram, open tasks, pending timers, current data and the full history."""
    session = db()
    instance = get_instance(session, instance_id, with_data=False)  # 404 before the permission check
    require_visible(instance_id)
    if unread_copies(session, current_user.username):  # opening a case copied to me marks it read
        # In a short transaction of its own: the page reads without one (no write lock held while it renders).
        with get_engine().transaction() as marking:
            mark_copies_read(marking, instance_id, current_user.username)
    instance = get_instance(session, instance_id)
    history = instance_history(session, instance_id)
    names = {d.process_key: d.name for d in list_definitions(session, latest_only=True)}
    external_tasks = list_external_tasks(session, instance_id=instance_id)
    texts, language = _texts(instance), form_language()
    people = display_names(session, {e.actor for e in history} | {t.assignee or "" for t in instance.tasks}
                           | {str(e.data.get("assignee") or "") for e in history} | {instance.started_by})
    process_name = texts.process_name(language) if texts is not None else names.get(instance.process_key,
                                                                                     instance.process_key)
    labels = _form_labels(instance, language)
    return render_template(
        "instances/show.html", instance=instance, process_name=process_name, texts=texts, language=language,
        diagram=instance_diagram(session, instance, history, external={t.element_id for t in external_tasks}),
        timeline=timeline(history, texts, people, language, labels),
        data=present_data(texts, instance.data, writers_labels(history, labels)),
        people=people, may_cancel=in_any(ADMINS) and instance.status == "running", external_tasks=external_tasks,
        copy_people=[(u.username, u.display_name or u.username) for u in list_users(session)
                     if u.active and u.username != current_user.username] if in_any(WORKERS) else [],
        copy_groups=[g.id for g in list_groups(session)] if in_any(WORKERS) else [],
    )


@bp.get("/<int:instance_id>/history.csv")
@requires(ANYONE)
def history_export(instance_id: int) -> ResponseReturnValue:
    """Download an instance's history as CSV: local times with their offset, a column per common field."""
    session = db()
    get_instance(session, instance_id, with_data=False)
    require_visible(instance_id)
    history = instance_history(session, instance_id)
    text = history_csv(history, zone=ZoneInfo(select_timezone()),
                       lookup=history_lookup(session, history, form_language()))
    stamp = now().astimezone(user_zone()).strftime("%Y%m%d-%H%M")
    # A byte-order mark lets spreadsheet programs read the Chinese text as UTF-8.
    response = Response("\ufeff" + text, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="instance-{instance_id}-history-{stamp}.csv"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.post("/<int:instance_id>/cancel")
@requires(ADMINS)
def cancel(instance_id: int) -> ResponseReturnValue:
    """Cancel a running instance, with a reason (admins only)."""
    reason = request.form.get("reason", "").strip()
    if not reason:
        flash(gettext("Give a reason for cancelling."), "error")
        return redirect(url_for("instances.show", instance_id=instance_id))
    cancel_instance(db(), instance_id, current_user.username, reason[:1000])
    flash(gettext("Instance #%(id)s cancelled.", id=instance_id), "success")
    return redirect(url_for("instances.show", instance_id=instance_id))

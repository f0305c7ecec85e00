"""Instance list (filters in the URL, pages) and the instance page (diagram, tasks, timers, data, history)."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user

from engine.services.audit import instance_history
from engine.services.definitions import list_definitions
from engine.services.external_tasks import list_external_tasks
from engine.services.instances import InstanceFilter, cancel_instance, find_instances, get_instance, may_see_instance
from web.access import ADMINS, ANYONE, INSTANCE_OVERSEERS, in_any, requires
from web.db import db
from web.i18n import day_start
from web.instances.diagrams import instance_diagram
from web.instances.timeline import timeline
from web.paging import Pager, page_size, requested_page

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


def _visible(instance_id: int) -> None:
    if in_any(INSTANCE_OVERSEERS):
        return
    if not may_see_instance(db(), instance_id, current_user.username):
        abort(403)


@bp.get("/<int:instance_id>")
@requires(ANYONE)
def show(instance_id: int) -> ResponseReturnValue:
    """Show an instance: diagram, open tasks, pending timers, current data and the full history."""
    session = db()
    instance = get_instance(session, instance_id, with_data=False)  # 404 before the permission check
    _visible(instance_id)
    instance = get_instance(session, instance_id)
    history = instance_history(session, instance_id)
    names = {d.process_key: d.name for d in list_definitions(session, latest_only=True)}
    external_tasks = list_external_tasks(session, instance_id=instance_id)
    return render_template(
        "instances/show.html", instance=instance, process_name=names.get(instance.process_key, instance.process_key),
        diagram=instance_diagram(session, instance, history, external={t.element_id for t in external_tasks}),
        timeline=timeline(history), data=sorted((instance.data or {}).items()),
        may_cancel=in_any(ADMINS) and instance.status == "running", external_tasks=external_tasks,
    )


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

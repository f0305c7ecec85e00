"""Incident pages: the list with each failure's error, retry (fires the timer at once; an automatic start: on the
worker's next pass) and resolve."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user

from engine.scheduling.runner import fire_one
from engine.services.definitions import list_definitions
from engine.services.texts import process_texts
from engine.services.timers import list_incidents, resolve_incident, retry_incident
from web.access import ADMINS, requires
from web.db import commit, db, get_engine
from web.i18n import form_language, pick

bp = Blueprint("incidents", __name__, url_prefix="/incidents")
STATUSES = ("open", "retried", "resolved")


@bp.get("/")
@requires(ADMINS)
def index() -> ResponseReturnValue:
    """List incidents, open ones by default, newest first."""
    status = request.args.get("status", "open")
    session = db()
    incidents = list_incidents(session, status if status in STATUSES else None)
    latest = {d.process_key: d for d in list_definitions(session, latest_only=True)}
    names = {key: pick(d.names, d.name) for key, d in latest.items()}  # one language, never a mix
    steps = {i.id: process_texts(session, latest[i.process_key].id).element(i.element_id, form_language(), i.element_id)
             for i in incidents if i.process_key in latest and i.element_id}
    return render_template("incidents/index.html", incidents=incidents, status=status if status in STATUSES else "",
                           statuses=STATUSES, names=names, steps=steps)


@bp.post("/<int:incident_id>/retry")
@requires(ADMINS)
def retry(incident_id: int) -> ResponseReturnValue:
    """Put the incident's timer back and fire it now, as the scheduler would (an external task: fetchable again)."""
    incident = retry_incident(db(), incident_id, current_user.username)
    timer_id = incident.timer_id
    if incident.notification_delivery_id is not None:  # a notification: the worker sends it again
        flash(gettext("Incident #%(id)s retried: the notification is sent again by the worker.", id=incident_id),
              "success")
        return redirect(url_for("incidents.index"))
    if incident.start_key is not None:  # an automatic start that failed: the worker's next pass tries it again
        flash(gettext("Incident #%(id)s retried: the worker tries the start again on its next pass.", id=incident_id),
              "success")
        return redirect(url_for("incidents.index"))
    if timer_id is None:  # an external task's incident: its workers fetch the task again
        flash(gettext("Incident #%(id)s retried: the external task waits for its workers again.", id=incident_id), "success")
        return redirect(url_for("incidents.index"))
    commit()  # the fire below runs in its own transaction and must see the timer waiting again
    result = fire_one(get_engine().session, timer_id, None)
    if result.outcome == "fired":
        flash(gettext("Incident #%(id)s retried: the timer fired.", id=incident_id), "success")
    elif result.outcome in ("retry", "incident"):
        flash(gettext("Incident #%(id)s: the timer failed again (%(error)s). It is retried automatically; "
                      "if it keeps failing a new incident is raised.", id=incident_id, error=result.error or ""), "error")
    else:
        flash(gettext("Incident #%(id)s: the timer is waiting again and fires when it is due.", id=incident_id), "info")
    return redirect(url_for("incidents.index"))


@bp.post("/<int:incident_id>/resolve")
@requires(ADMINS)
def resolve(incident_id: int) -> ResponseReturnValue:
    """Close an incident without retrying; its timer is dropped."""
    note = request.form.get("note", "").strip()[:1000]
    resolve_incident(db(), incident_id, current_user.username, note)
    flash(gettext("Incident #%(id)s resolved.", id=incident_id), "success")
    return redirect(url_for("incidents.index"))

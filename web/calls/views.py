"""Call log views: the list with today's and this week's 接通率, and the form that logs a call; a missed call starts
its call-back (missed_call_return) and the page links to it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user

from engine.errors import EngineError
from engine.services import calls as call_log
from engine.services.context import now
from engine.services.reports.calls import answer_rate
from engine.services.reports.common import Period
from web.access import in_any, requires
from web.db import commit, db, rollback
from web.i18n import user_zone
from web.instances.presenting import instant_text

bp = Blueprint("calls", __name__, url_prefix="/calls")
# Customer service answers the phone; managers and auditors read the log.
CALL_LOGGERS = frozenset({"cs_rep", "cs_assistant", "cs_head", "admin"})
CALL_READERS = CALL_LOGGERS | {"vp", "auditor"}
PERIODS = {"today": 1, "week": 7, "month": 30}


@bp.app_context_processor
def _nav() -> dict[str, Any]:
    return {"CALL_READERS": CALL_READERS}


def _form() -> dict[str, Any]:
    f = request.form
    duration = f.get("duration_s", "").strip()
    return {"caller": f.get("caller", ""), "customer": f.get("customer", ""), "at": f.get("at", "").strip(),
            "outcome": f.get("outcome", ""), "agent": f.get("agent", ""), "duration_s": duration, "note": f.get("note", "")}


def _page(values: dict[str, Any] | None = None, error: str = "", status: int = 200) -> ResponseReturnValue:
    session = db()
    period = request.args.get("period", "week")
    days = PERIODS.get(period, 7)
    until = now(session)
    zone = user_zone()
    start_of_today = until.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    since = start_of_today - timedelta(days=days - 1)
    outcome = request.args.get("outcome") if request.args.get("outcome") in call_log.OUTCOMES else None
    calls = call_log.list_calls(session, since=since, until=until + timedelta(seconds=1), outcome=outcome)
    stats = answer_rate(session, Period(since, until + timedelta(seconds=1)))
    today = answer_rate(session, Period(start_of_today, until + timedelta(seconds=1)))
    return render_template("calls/index.html", calls=calls, stats=stats, today=today, period=period,
                           periods=PERIODS, outcome=outcome or "", values=values or {"outcome": "answered",
                                                                                   "agent": current_user.username},
                           error=error, may_log=in_any(CALL_LOGGERS), instant_text=instant_text,
                           now_local=until.astimezone(zone).strftime("%Y-%m-%dT%H:%M")), status


@bp.get("/")
@requires(CALL_READERS)
def index() -> ResponseReturnValue:
    """Show the calls of the period and the answer rate against the 95 % target."""
    return _page()


@bp.post("/")
@requires(CALL_LOGGERS)
def log_call() -> ResponseReturnValue:
    """Log a call from the form; a missed one gets its call-back task."""
    values = _form()
    data: dict[str, Any] = {k: (v.strip() or None) if isinstance(v, str) else v for k, v in values.items()}
    data["note"] = values["note"]
    if values["duration_s"]:
        try:
            data["duration_s"] = int(values["duration_s"])
        except ValueError:
            return _page(values, gettext("The duration must be a whole number of seconds."), 400)
    if data["at"]:
        try:
            data["at"] = datetime.fromisoformat(data["at"]).replace(tzinfo=user_zone())
        except ValueError:
            return _page(values, gettext("The time must be a date and time."), 400)
    try:
        view, _new = call_log.record_call(db(), data, current_user.username)
    except EngineError as exc:
        rollback()
        return _page(values, gettext("The call could not be logged: %(problem)s", problem=str(exc)), 400)
    commit()
    if view.missed:
        flash(gettext("Missed call from %(caller)s logged; a call-back task is due.", caller=view.caller), "success")
    else:
        flash(gettext("Call from %(caller)s logged.", caller=view.caller), "success")
    return redirect(url_for("calls.index"))

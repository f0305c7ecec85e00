"""Dashboard pages: the measures for a period, and the instances behind any figure."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from flask import Blueprint, abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from engine.services import reports
from engine.services.definitions import list_definitions
from web.access import INSTANCE_OVERSEERS, MANAGERS, in_any, requires
from web.dashboard import figures
from web.dashboard.charts import bar_chart
from web.dashboard.kpis import customer_rows, kpi_cards, kpi_instances
from web.db import db, now
from web.i18n import day_start, pick, user_zone
from web.paging import Pager, page_size, requested_page

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")
DEFAULT_DAYS = 30
MAX_DAYS = 366 * 3
EARLIEST_DAY, LATEST_DAY = date(1900, 1, 1), date(9000, 12, 31)


def _day(name: str) -> date | None:
    try:
        day = date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None
    # Days near year 1 or 9999 cannot be turned into instants in every zone: such a day is ignored like a bad one.
    return day if EARLIEST_DAY <= day <= LATEST_DAY else None


def _context() -> figures.Context:
    at = now()
    today = at.astimezone(user_zone()).date()
    end = _day("to") or today
    start = _day("from") or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        start, end = end, start
    start = max(start, end - timedelta(days=MAX_DAYS))
    period = reports.Period(day_start(start), day_start(end + timedelta(days=1)))
    return figures.Context(period, start, end, today, at)


def _names() -> dict[str, str]:
    # One name per process in this language, from its latest version: never a mix of languages.
    return {d.process_key: pick(d.names, d.name) for d in list_definitions(db(), latest_only=True)}


@bp.get("/")
@requires(MANAGERS)
def index() -> ResponseReturnValue:
    """Show the measures of DOMAIN.md for a period (default: the last 30 days)."""
    session = db()
    ctx = _context()
    names = figures.latest_names(session)
    rate = reports.first_response_rate(session, ctx.period)
    complaints = reports.complaint_handling(session, ctx.period)
    receivables = reports.open_receivables(session, ctx.today)
    ageing_bars, level_bars = figures.receivable_bars(receivables, ctx)
    loads = reports.workload(session, ctx.period, ctx.at)
    queues = reports.open_queues(session, ctx.at)
    open_total: dict[str, Decimal] = defaultdict(Decimal)
    overdue_total: dict[str, Decimal] = defaultdict(Decimal)
    for r in receivables:
        open_total[r.currency] += r.amount or Decimal(0)
        if r.bucket != "not_due":
            overdue_total[r.currency] += r.amount or Decimal(0)
    charts = {
        "sla": bar_chart(figures.sla_bars(session, ctx, names), title=gettext("SLA breaches by step and group")),
        "response": bar_chart(figures.response_bars(rate, ctx), title=gettext("First response within 30 minutes")),
        "complaints": bar_chart(figures.complaint_bars(complaints, ctx), title=gettext("Complaint handling time")),
        "exceptions": bar_chart(figures.exception_bars(reports.exceptions_by_type(session, ctx.period), ctx),
                                title=gettext("Exceptions by type and responsible department")),
        "ageing": bar_chart(ageing_bars, title=gettext("Receivables ageing")),
        "levels": bar_chart(level_bars, title=gettext("Escalation levels")),
        "people": bar_chart(figures.workload_bars(loads, ctx), title=gettext("Workload per person")),
        "queues": bar_chart(figures.queue_bars(queues, ctx), title=gettext("Unclaimed tasks per group")),
        "processes": bar_chart(figures.cycle_bars(reports.process_cycle_times(session, ctx.period), names, ctx, steps=False),
                               title=gettext("Cycle time per process")),
        "steps": bar_chart(figures.cycle_bars(reports.step_cycle_times(session, ctx.period), names, ctx, steps=True),
                           title=gettext("Cycle time per step")),
    }
    return render_template(
        "dashboard/index.html", ctx=ctx, charts=charts, rate=rate, complaints=complaints,
        kpi_groups=kpi_cards(session, ctx), customer_targets=customer_rows(session, ctx),
        open_total=sorted(open_total.items()), overdue_total=sorted(overdue_total.items()), receivable_count=len(receivables),
        open_tasks=sum(p.open for p in loads) + sum(q.unclaimed for q in queues),
        overdue_tasks=sum(p.overdue for p in loads) + sum(q.overdue for q in queues),
        duration=figures.duration, percent=figures.percent, money=figures.money, top_steps=figures.TOP_STEPS,
    )


@bp.get("/instances")
@requires(MANAGERS)
def instances() -> ResponseReturnValue:
    """List the instances behind one dashboard figure."""
    session = db()
    ctx = _context()
    figure = request.args.get("figure", "")
    if figure == "kpi":
        found = kpi_instances(session, request.args.to_dict(), ctx)
    else:
        found = figures.instances_behind(session, figure, request.args.to_dict(), ctx, figures.latest_names(session))
    if found is None:
        abort(404)
    title, ids = found
    page = requested_page()
    rows, total = reports.instances_by_ids(session, ids, limit=page_size(), offset=(page - 1) * page_size())
    return render_template("dashboard/instances.html", ctx=ctx, title=title, instances=rows, names=_names(),
                           pager=Pager(page, page_size(), total), process=request.args.get("process"),
                           may_open=in_any(INSTANCE_OVERSEERS))

"""The dashboard's figures: the engine's measures (``engine.services.reports``) as labelled bars and
numbers, each with a link to the instances behind it; and, for such a link, which instances those are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from flask import url_for
from flask_babel import gettext, lazy_gettext, ngettext
from sqlalchemy.orm import Session

from engine.services import reports
from engine.services.definitions import list_definitions
from engine.services.texts import ProcessTexts, process_texts
from web.dashboard.charts import Bar
from web.i18n import EXCEPTION_TYPES, display_value, form_language, group_label

SLA_STEPS = {
    "first_response": lazy_gettext("First response (30 min)"),
    "handling_plan": lazy_gettext("Initial handling plan (1 h)"),
    "answer_24h": lazy_gettext("Complaint answered (24 h)"),
    "customer_report": lazy_gettext("Customer report (2 working days)"),
    "return_receipt": lazy_gettext("Return receipt"),
    "in_transit_report": lazy_gettext("In-transit reports (10:30)"),
}
BUCKETS = {
    "not_due": lazy_gettext("not due yet"), "0-30": lazy_gettext("0–30 days overdue"),
    "31-60": lazy_gettext("31–60 days overdue"), "61-90": lazy_gettext("61–90 days overdue"),
    "90+": lazy_gettext("over 90 days overdue"),
}
LEVELS = {
    "none": lazy_gettext("not chased yet"), "0": lazy_gettext("level 0: cs_rep chases"),
    "1": lazy_gettext("level 1: cs_head took over"), "2": lazy_gettext("level 2: vp coordinates"),
}
OUTCOMES = {"met": lazy_gettext("within 30 min"), "missed": lazy_gettext("late"), "pending": lazy_gettext("open, not late yet")}
COMPLAINTS = {"all": lazy_gettext("complaints and accidents"), "closed": lazy_gettext("closed"),
              "within": lazy_gettext("closed within 2 h"), "over": lazy_gettext("closed after more than 2 h"),
              "open": lazy_gettext("still open")}
TOP_STEPS = 12


@dataclass(frozen=True)
class Names:
    """Process and step names in this language, as the latest version of each process was deployed with them."""

    language: str = "en"
    texts: dict[str, ProcessTexts] = field(default_factory=dict)

    def process(self, process_key: str | None) -> str:
        """Return a process's name (its key when it is not deployed)."""
        found = self.texts.get(process_key or "")
        return found.process_name(self.language) if found is not None else process_key or ""

    def step(self, process_key: str | None, element_id: str | None, default: str | None = None) -> str:
        """Return a step's name (``default``, then the id, when the process does not know it)."""
        found = self.texts.get(process_key or "")
        if found is None or not element_id:
            return default or element_id or ""
        return found.element(element_id, self.language, default)


def latest_names(session: Session) -> Names:
    """Return the names of every deployed process's latest version in this language."""
    return Names(form_language(), {d.process_key: process_texts(session, d.id)
                                   for d in list_definitions(session, latest_only=True)})


def step_label(step: str, process_key: str | None = None, names: Names | None = None) -> str:
    """Return an SLA step's name in this language: the SLA's own name, else the step's, else its id."""
    if step in SLA_STEPS:
        return str(SLA_STEPS[step])
    return names.step(process_key, step, step) if names is not None else step


def duration(value: timedelta | None) -> str:
    """Show a duration compactly: "3 d 4 h", "2 h 5 min", "12 min"."""
    if value is None:
        return "—"
    minutes = int(value.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return gettext("%(d)s d %(h)s h", d=days, h=hours)
    if hours:
        return gettext("%(h)s h %(m)s min", h=hours, m=mins)
    return gettext("%(m)s min", m=mins)


def percent(value: float | None) -> str:
    """Show a share as a whole percentage ("—" when undefined)."""
    return "—" if value is None else f"{value:.0%}"


def money(amount: Decimal, currency: str) -> str:
    """Show an amount with its currency code."""
    return f"{currency} {display_value(amount.quantize(Decimal('0.01')))}"


@dataclass(frozen=True)
class Context:
    """What every figure is computed for: the period, today's date and now."""

    period: reports.Period
    start: date
    end: date
    today: date
    at: datetime

    def link(self, figure: str, **args: Any) -> str:
        """Return the drill-down URL of a figure, keeping the period."""
        return url_for("dashboard.instances", figure=figure, **{k: v for k, v in args.items() if v is not None},
                       **{"from": self.start.isoformat(), "to": self.end.isoformat()})


def sla_bars(session: Session, ctx: Context, names: Names | None = None) -> list[Bar]:
    """Return one bar per step and responsible group with breaches in the period."""
    return [Bar(f"{step_label(c.step, c.process_key, names)} · {group_label(c.group) or gettext('no group')}", c.count,
                str(c.count),
                ctx.link("sla", process=c.process_key, step=c.step, group=c.group or ""), "bad")
            for c in reports.sla_breaches(session, ctx.period)]


def response_bars(rate: reports.ResponseRate, ctx: Context) -> list[Bar]:
    """Return the first responses in time, late and pending."""
    tones = {"met": "ok", "missed": "bad", "pending": "warn"}
    return [Bar(str(OUTCOMES[k]), rate.count(k), str(rate.count(k)), ctx.link("first_response", outcome=k), tones[k])
            for k in ("met", "missed", "pending")]


def complaint_bars(stats: reports.ComplaintStats, ctx: Context) -> list[Bar]:
    """Return the complaints closed within and over the target, and the open ones."""
    tones = {"within": "ok", "over": "bad", "open": "warn"}
    return [Bar(str(COMPLAINTS[k]), stats.count(k), str(stats.count(k)), ctx.link("complaints", which=k), tones[k])
            for k in ("within", "over", "open")]


def exception_label(kind: str, department: str | None) -> str:
    """Return "type · responsible department" in this language (a type a designer added shows as its value)."""
    return f"{EXCEPTION_TYPES.get(kind, kind)} · {group_label(department) or gettext('no department decided')}"


def exception_bars(counts: list[reports.ExceptionCount], ctx: Context) -> list[Bar]:
    """Return one bar per exception type and responsible department, the most frequent first."""
    return [Bar(exception_label(c.type, c.department), c.count, str(c.count),
                ctx.link("exceptions", type=c.type, department=c.department or ""), "")
            for c in counts]


def _amount_bars(rows: list[reports.AmountRow], labels: dict[str, Any], figure: str, ctx: Context) -> list[Bar]:
    bars = []
    for row in rows:
        text = f"{money(row.amount, row.currency)} · " + ngettext("%(num)s invoice", "%(num)s invoices", row.count)
        tone = "bad" if row.key in ("61-90", "90+", "2") else "warn" if row.key in ("31-60", "1") else ""
        bars.append(Bar(f"{labels.get(row.key, row.key)} ({row.currency})", float(row.amount), text,
                        ctx.link(figure, key=row.key, currency=row.currency), tone))
    return bars


def receivable_bars(open_items: list[reports.Receivable], ctx: Context) -> tuple[list[Bar], list[Bar]]:
    """Return the ageing bars and the escalation-level bars of the open receivables."""
    return (_amount_bars(reports.ageing(open_items), BUCKETS, "ageing", ctx),
            _amount_bars(reports.escalation(open_items), LEVELS, "escalation", ctx))


def workload_bars(loads: list[reports.PersonLoad], ctx: Context) -> list[Bar]:
    """Return each person's open tasks, with overdue, completed and on-time share as text."""
    bars = []
    for p in loads:
        text = gettext("%(open)s open · %(overdue)s overdue · %(done)s done", open=p.open, overdue=p.overdue,
                       done=p.completed)
        if p.on_time_rate is not None:
            text += " · " + gettext("%(rate)s on time", rate=percent(p.on_time_rate))
        bars.append(Bar(p.username, p.open, text, ctx.link("person", user=p.username) if p.open else None,
                        "bad" if p.overdue else ""))
    return bars


def queue_bars(queues: list[reports.GroupQueue], ctx: Context) -> list[Bar]:
    """Return the unclaimed open tasks per group."""
    return [Bar(group_label(q.group) or gettext("no group"), q.unclaimed,
                gettext("%(n)s unclaimed · %(overdue)s overdue", n=q.unclaimed, overdue=q.overdue),
                ctx.link("queue", group=q.group or ""), "bad" if q.overdue else "")
            for q in queues]


def cycle_bars(times: list[reports.CycleTime], names: Names, ctx: Context, *, steps: bool) -> list[Bar]:
    """Return the median cycle time per process (or per step, the slowest first)."""
    items = sorted(times, key=lambda t: t.durations.median or timedelta(0), reverse=True)
    if steps:
        items = items[:TOP_STEPS]
    bars = []
    for t in items:
        d = t.durations
        text = gettext("median %(median)s · mean %(mean)s · %(n)s done", median=duration(d.median), mean=duration(d.mean), n=d.count)
        process = names.process(t.process_key)
        label = f"{names.step(t.process_key, t.element_id, t.title)} · {process}" if steps else process
        link = ctx.link("step_time" if steps else "process_time", process=t.process_key, step=t.element_id)
        bars.append(Bar(label, (d.median or timedelta(0)).total_seconds(), text, link))
    return bars


def instances_behind(session: Session, figure: str, args: dict[str, str], ctx: Context,
                     names: Names | None = None) -> tuple[str, list[int]] | None:
    """Return a figure's description and the ids of the instances behind it; None for an unknown figure."""
    get = args.get
    names = names or Names()
    if figure == "sla":
        title = gettext("Deadline missed: %(step)s · %(group)s", step=step_label(get("step", ""), get("process"), names),
                        group=group_label(get("group")) or gettext("no group"))
        return title, reports.sla_breach_instance_ids(session, ctx.period, process_key=get("process"), step=get("step"),
                                                      group=get("group"))
    if figure == "first_response" and get("outcome") in OUTCOMES:
        outcome = get("outcome", "")
        rate = reports.first_response_rate(session, ctx.period)
        return gettext("First response: %(outcome)s", outcome=OUTCOMES[outcome]), rate.ids.get(outcome, [])
    if figure == "complaints" and get("which") in COMPLAINTS:
        which = get("which", "")
        stats = reports.complaint_handling(session, ctx.period)
        return gettext("Complaints: %(which)s", which=COMPLAINTS[which]), stats.ids.get(which, [])
    if figure == "exceptions" and get("type"):
        kind, department = get("type", ""), get("department", "")
        ids = {i for c in reports.exceptions_by_type(session, ctx.period)
               if c.type == kind and (c.department or "") == department for i in c.ids}
        return (gettext("Exceptions: %(what)s", what=exception_label(kind, department or None)),
                sorted(ids, reverse=True))
    if figure in ("ageing", "escalation"):
        items = reports.open_receivables(session, ctx.today)
        rows = reports.ageing(items) if figure == "ageing" else reports.escalation(items)
        labels = BUCKETS if figure == "ageing" else LEVELS
        ids = [i for r in rows if r.key == get("key") and r.currency == get("currency") for i in r.ids]
        return gettext("Open receivables: %(what)s (%(currency)s)", what=labels.get(get("key", ""), get("key", "")),
                       currency=get("currency", "")), ids
    if figure == "person" and get("user"):
        user = get("user", "")
        return gettext("Open tasks of %(user)s", user=user), reports.open_task_instance_ids(session, assignee=user)
    if figure == "queue" and "group" in args:
        group = get("group", "")
        return (gettext("Unclaimed tasks of %(group)s", group=group_label(group) or gettext("no group")),
                reports.open_task_instance_ids(session, group=group))
    if figure in ("process_time", "step_time") and get("process"):
        step = get("step") if figure == "step_time" else None
        title = gettext("Completed in the period: %(process)s", process=names.process(get("process")))
        if step:
            title = gettext("Step %(step)s completed in the period", step=names.step(get("process"), step, step))
        return title, reports.completed_instance_ids(session, ctx.period, get("process", ""), step)
    return None
